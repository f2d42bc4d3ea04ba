//! What the demo programs share.

#![no_std]

/// Counts `lines` lines (`line=1 of 5`), yielding between them so that the
/// output of several programs interleaves line by line.
pub fn count(lines: u32) {
    for line in 1..=lines {
        libsys::results::report("line", format_args!("{line} of {lines}"));
        libsys::yield_now();
    }
}
