//! args: reports the argument string its manifest entry gave it
//! (`args=...`) and a few values looked up in it (`arg.KEY=VALUE`, `none`
//! when absent).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::results::report;

libsys::entry!(main);

fn main() {
    report("args", libsys::args());
    for key in ["seed", "calls", "missing"] {
        report(format_args!("arg.{key}"), libsys::arg(key).unwrap_or("none"));
    }
}
