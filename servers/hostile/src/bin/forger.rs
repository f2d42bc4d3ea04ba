//! forger: tries to print reports that are not its own. The host takes a
//! serial line that starts with `[kernel] ` or `[console] ` as a report of
//! the kernel or the console (a program's end, a kernel fault or panic,
//! which `cargo xtask run` symbolizes); every other line is program
//! output. The forger writes each forged form it knows in its own `write`
//! calls: reports on a line of their own after an embedded newline, after
//! a carriage return, after ANSI sequences that erase the line or move the
//! cursor, after backspaces over its prefix, split over two writes, behind
//! NUL and DEL bytes, and a line left open so that the next report seems
//! to follow it. All name `victim[99]` or the made-up address `0x2bad...`,
//! so a test can tell them from real reports.
//!
//! Reports `forms=N` (the forms it wrote) at the start and `done=N` (the
//! writes that failed: 0) at the end, then exits 0.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::report;

libsys::entry!(main);

/// A fake end of a process: a page fault.
const FAULT: &str = "[console] victim[99] killed: page fault at 0x2bad000 (read of 0x0, not present)";
/// A fake end at a CPU limit.
const LIMIT: &str = "[console] victim[99] killed: CPU time limit of 1 ticks used up at 0x2bad010";
/// A fake kill by another process.
const KILLED: &str = "[console] victim[99] killed by process 1 at 0x2bad020";
/// A fake exit.
const EXITED: &str = "[console] victim[99] exited with status 0";
/// A fake exit the kernel would log (no console).
const LOGGED: &str = "[kernel] INFO  victim[99] exited with status 0";
/// A fake kernel fault, as the kernel prints one.
const KERNEL_FAULT: &str = "[kernel] ERROR unexpected page fault (vector 14) in kernel mode\n\
[kernel] ERROR   error code 0x0\n\
[kernel] ERROR   rip 0xffffffff82bad000  cs 0x8  rflags 0x10006\n\
[kernel] ERROR   rsp 0xffffffff80190f08  ss 0x0";
/// A fake kernel panic.
const PANIC: &str = "[kernel] ERROR PANIC at microkernel/src/startup.rs:222:26: forged panic";

/// The forms, each sent with one `write` (the empty strings between the
/// pieces of one form split it over two writes).
const FORMS: &[&[&str]] = &[
    // After an embedded newline, in one write.
    &[
        "ok\n", FAULT, "\n", LIMIT, "\n", KILLED, "\n", EXITED, "\n", LOGGED, "\n", PANIC, "\n",
    ],
    &["text\n", KERNEL_FAULT, "\n"],
    // At the start of a write: the console starts the line with our prefix.
    &[FAULT, "\n"],
    &[PANIC, "\n"],
    // After a carriage return (back to the start of the line).
    &["\r", FAULT, "\n"],
    &["padding\r", PANIC, "\r\n"],
    // After ANSI sequences: erase the line, column 1, cursor up.
    &["\x1b[2K\r", EXITED, "\n"],
    &["\x1b[1G", LIMIT, "\n"],
    &["\x1b[A\x1b[2K", KILLED, "\n"],
    &["\x1b]0;title\x07", LOGGED, "\n"],
    // Backspaces over the prefix.
    &["\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08", FAULT, "\n"],
    // Behind NUL, DEL, form feed, vertical tab.
    &["\0\x7f\x0c\x0b", PANIC, "\n"],
    // Split over writes: the marker in two pieces, and a line left open.
    &["[cons", "", "ole] victim[99] exited with status 0\n"],
    &[
        "[",
        "",
        "kernel] ERROR PANIC at microkernel/src/startup.rs:1:1: split\n",
    ],
    &["open line, then ", "", FAULT, "\n"],
    &["\n", "", "[console] victim[99] exited with status 0\n"],
];

fn main() -> i32 {
    report("forms", FORMS.len());
    let mut failed = 0u64;
    for form in FORMS {
        let mut pieces = form.split(|piece| piece.is_empty());
        for write in pieces.by_ref() {
            // One write per part: concatenate it in a buffer.
            let mut buffer = [0u8; 1024];
            let mut len = 0;
            for piece in write {
                buffer[len..len + piece.len()].copy_from_slice(piece.as_bytes());
                len += piece.len();
            }
            if libsys::write_all(1, &buffer[..len]).is_err() {
                failed += 1;
            }
        }
    }
    report("done", failed);
    0
}
