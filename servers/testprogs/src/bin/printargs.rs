//! printargs: prints its argument string word by word, as `key=value` lines
//! a test can read: `argc=N`, then `arg1=...` to `argN=...`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::results::report;

libsys::entry!(main);

fn main() {
    let words = libsys::args().split_ascii_whitespace();
    report("argc", words.clone().count());
    for (index, word) in words.enumerate() {
        report(format_args!("arg{}", index + 1), word);
    }
}
