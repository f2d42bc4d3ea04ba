//! The build tool as a library: what `cargo xtask` does, callable from tests.
//!
//! - [`cli`]: the command line (clap's derive), and running its commands.
//! - [`manifest`]: reads a user manifest (`manifests/*.toml` or inline TOML)
//!   and turns it into the kernel's boot manifest text.
//! - [`cargo`]: cross-compiles the kernel and the programs for
//!   `x86_64-unknown-none`.
//! - [`image`]: packs the kernel and an initrd (`cpio` newc) into
//!   `target/image/<name>/`.
//! - [`qemu`]: boots an image, streams and captures the serial port, and maps
//!   QEMU's exit status back to the guest's exit value.
//! - [`install`]: finds (or, as root, installs) `qemu-system-x86_64`.
//! - [`scaffold`]: `cargo xtask new`: writes a server crate that lives
//!   outside this repository.
//! - [`setup`]: makes sure the pinned toolchain has the bare-metal target
//!   (`rustup target add` when it lacks it); `cargo xtask setup`.
//! - [`reference`](mod@reference): the ABI reference generated from the `abi` crate, as
//!   Markdown (`docs/abi.md`) and JSON.
//! - [`trace`]: decodes the kernel's syscall trace into strace-style lines
//!   and Chrome trace / Perfetto timelines.
//! - [`endings`]: how programs ended, read from the console's notices,
//!   and what `cargo xtask run --strict` makes of them.
//! - [`symbols`]: resolves the addresses of fault reports in the serial
//!   output to functions and source lines.
//! - [`fuzz`]: `cargo xtask fuzz`: boots the ring-3 syscall fuzzer with a
//!   seed and a number of calls, and judges the run.
//! - [`bench`](mod@bench): `cargo xtask bench`: boots the benchmark image under icount
//!   and without, compares with seL4 and the Linux peer, and breaks down an
//!   IPC round trip per function.
//!
//! Every error a user can cause is an [`Error`] whose `Display` is one line.

pub mod bench;
pub mod cargo;
pub mod cli;
pub mod endings;
pub mod fuzz;
pub mod image;
pub mod install;
pub mod manifest;
pub mod qemu;
pub mod reference;
pub mod scaffold;
pub mod setup;
pub mod symbols;
pub mod trace;

use std::fmt;
use std::path::{Path, PathBuf};

pub use image::{BuildOptions, Image, build_image, build_image_with};
pub use install::ensure_qemu;
pub use manifest::Manifest;
pub use qemu::{Accel, GuestStatus, Input, KvmProbe, Machine, RunOptions, RunOutcome, Step, probe_kvm, run};

/// `cargo xtask run --strict` exit status when the guest exited with 0 but
/// a program ended otherwise than its manifest entry expects.
pub const EXIT_UNEXPECTED: u8 = 1;
/// `cargo xtask` exit status for a command-line mistake.
pub const EXIT_USAGE: u8 = 2;
/// `cargo xtask run` exit status when the guest ran past `--timeout`.
pub const EXIT_TIMEOUT: u8 = 124;
/// `cargo xtask` exit status for its own errors: bad manifest, failed build,
/// QEMU missing or not startable.
pub const EXIT_ERROR: u8 = 125;
/// `cargo xtask run` exit status when QEMU stopped without the guest writing
/// an exit value (a triple fault under `-no-reboot`, or a QEMU error).
pub const EXIT_NO_STATUS: u8 = 126;

/// The workspace root (the directory of the top-level `Cargo.toml`).
pub fn workspace_root() -> &'static Path {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir)
}

/// `<workspace>/target`, where everything the build tool writes goes.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target")
}

/// Something went wrong that the user can fix; `Display` is one line.
#[derive(Debug)]
pub enum Error {
    /// A mistake on the command line (unknown option, bad value).
    Usage(String),
    /// A manifest is unreadable or refused.
    Manifest {
        /// The TOML file, when the manifest came from one.
        file: Option<PathBuf>,
        /// 1-based line in the TOML text, when known.
        line: Option<usize>,
        message: String,
    },
    /// Cargo failed, or did not produce a binary a program needs.
    Build(String),
    /// QEMU is missing, could not be installed or could not be started.
    Qemu(String),
    /// A file could not be read or written.
    Io { what: String, error: std::io::Error },
    /// A benchmark boot failed or printed no usable figures.
    Bench(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, error: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            error,
        }
    }

    /// The `cargo xtask` exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            _ => EXIT_ERROR,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Build(message) | Self::Qemu(message) | Self::Bench(message) => {
                f.write_str(message)
            }
            Self::Manifest { file, line, message } => {
                match file {
                    Some(file) => write!(f, "{}", file.display())?,
                    None => f.write_str("manifest")?,
                }
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                write!(f, ": {message}")
            }
            Self::Io { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Takes a process-wide lock even if a thread panicked while holding it (the
/// data behind these locks stays consistent: files on disk, caches).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
