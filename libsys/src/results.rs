//! Results for tests and tools to read: one `key=value` line per value,
//! `check.NAME=pass` or `check.NAME=fail` per check (`abi::results` reads
//! them back; the console prefixes each line with `name[pid]: `).
//!
//! ```no_run
//! use libsys::results::{check, report};
//!
//! report("rounds", 300);
//! report(format_args!("call.{}", 1), "ETIMEDOUT");
//! let intact = check("replies_intact", true);
//! ```

use abi::results::{CHECK, verdict};
use core::fmt::Display;

/// Prints `key=value`.
pub fn report(key: impl Display, value: impl Display) {
    crate::println!("{key}={value}");
}

/// Prints `check.NAME=pass` or `check.NAME=fail`; returns `passed`.
pub fn check(name: impl Display, passed: bool) -> bool {
    crate::println!("{CHECK}{name}={}", verdict(passed));
    passed
}
