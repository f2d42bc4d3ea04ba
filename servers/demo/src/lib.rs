//! What the demo programs share.

#![no_std]

/// Counts `lines` lines, yielding between them so that the output of several
/// programs interleaves line by line.
pub fn count(who: &str, lines: u32) {
    for line in 1..=lines {
        libsys::println!("{who}: line {line} of {lines}");
        libsys::yield_now();
    }
}
