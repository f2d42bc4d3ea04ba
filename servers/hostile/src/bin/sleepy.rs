//! sleepy: a child for the process-handle tests. It reports the length of
//! its argument string (`args_len=N`: spawn's arguments reached it), waits
//! `ticks=` timer ticks (default 0) in `notify_wait`, or for ever with
//! `ticks=forever` (until it is killed), and exits with `status=`
//! (default 0).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, pause, report};

libsys::entry!(main);

fn main() -> i32 {
    report("args_len", libsys::args().len());
    if libsys::arg("ticks") == Some("forever") {
        // Nobody signals it: only a kill ends this wait.
        let waited = libsys::Notification::new().and_then(|n| n.wait());
        report("woke", hostile::result_name(&waited));
        return 1;
    }
    if let Err(error) = pause(number_arg("ticks", 0)) {
        report("pause", error.name());
        return 1;
    }
    number_arg("status", 0) as i32
}
