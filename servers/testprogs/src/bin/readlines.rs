//! readlines: reads typed lines from the console (`libsys::io::Stdin`)
//! until the line `end`, and prints what it got as `key=value` lines:
//! `input_bytes`, `input_lines`, `input_fnv` (FNV-1a, 64 bits, of every
//! byte read, newlines included), `input_longest` and `input_dropped` (what
//! the console reported dropped). The `end` line counts in none of them.
//!
//! It prints `input=attached` once it holds the input, so that a test
//! types only after that. With `delay=N` it sleeps N ticks before its first
//! read, so that typed input piles up in the console first; with
//! `predelay=N` it prints `input=later` and sleeps N ticks before it
//! attaches, so that what is typed meanwhile finds nobody. With
//! `verbose=1` it prints `got=LEN` for every line it reads. Ctrl-C ends it
//! (`interrupted=1`, status 130), as a program that reads input handles
//! Ctrl-C itself.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use libsys::io::{ReadError, Stdin};
use libsys::results::report;

libsys::entry!(main);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Sleeps `ticks=` ticks (from the argument `key`), if given.
fn pause(key: &str) {
    if let Some(ticks) = libsys::arg(key).and_then(|value| value.parse::<u64>().ok()) {
        let hz = libsys::time::tick_hz().max(1);
        let _ = libsys::time::sleep(Duration::from_millis(ticks * 1000 / hz));
    }
}

fn main() -> i32 {
    let mut stdin = Stdin::new();
    if libsys::arg("predelay").is_some() {
        report("input", "later");
        pause("predelay");
    }
    if let Err(error) = stdin.attach() {
        report("attach", error.name());
        return 1;
    }
    report("input", "attached");
    pause("delay");
    let (mut bytes, mut lines, mut longest, mut hash) = (0usize, 0usize, 0usize, FNV_OFFSET);
    // Lines longer than the buffer come in pieces; `current` is the line's
    // length so far.
    let mut current = 0;
    let verbose = libsys::arg("verbose").is_some();
    let mut buffer = [0u8; 256];
    let status = loop {
        match stdin.read_line(&mut buffer) {
            Ok(len) => {
                let piece = &buffer[..len];
                if current == 0 && piece == b"end\n" {
                    break 0;
                }
                for &byte in piece {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
                }
                bytes += len;
                current += len;
                if piece.last() == Some(&b'\n') {
                    if verbose {
                        report("got", current);
                    }
                    lines += 1;
                    longest = longest.max(current);
                    current = 0;
                }
            }
            Err(ReadError::Interrupted) => {
                report("interrupted", 1);
                break 130;
            }
            Err(ReadError::Sys(error)) => {
                report("read", error.name());
                break 1;
            }
        }
    };
    report("input_bytes", bytes);
    report("input_lines", lines);
    report("input_fnv", format_args!("{hash:#018x}"));
    report("input_longest", longest);
    report("input_dropped", stdin.dropped());
    status
}
