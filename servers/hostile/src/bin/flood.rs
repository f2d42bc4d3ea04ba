//! flood: sends `messages=` messages (default 100,000) with a label the
//! console does not serve straight at the console endpoint (handle 0), as
//! fast as it can. The console must stay responsive: it complains about the
//! first five, only counts the rest, and every other program's output still
//! arrives whole. Each send must succeed (the console takes every message);
//! the program reports how many it sent with which label (`sent=`,
//! `label=`), how many were taken and refused (`taken=`, `refused=`) and
//! how long it took (`ticks=`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::number_arg;
use libsys::ipc::{self, Msg};
use libsys::results::report;
use testspec::UNSERVED_LABEL;

libsys::entry!(main);

/// Handle 0: SEND to the console.
const CONSOLE: libsys::Handle = 0;

fn main() -> i32 {
    let messages = number_arg("messages", 100_000);
    let start = libsys::get_ticks();
    let mut refused = 0u64;
    for index in 0..messages {
        if ipc::send(CONSOLE, &Msg::with_words(UNSERVED_LABEL, &[index]), &[]).is_err() {
            refused += 1;
        }
    }
    let ticks = libsys::get_ticks() - start;
    report("sent", messages);
    report("label", format_args!("{UNSERVED_LABEL:#x}"));
    report("ticks", ticks);
    report("taken", messages - refused);
    report("refused", refused);
    if refused == 0 { 0 } else { 1 }
}
