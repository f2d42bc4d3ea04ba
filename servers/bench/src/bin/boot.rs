//! boot: the first program of `manifests/boot.toml`, for the boot cost of
//! `cargo xtask bench`. It has the highest priority, so the kernel runs it
//! before any other program: the TSC its first instruction read
//! ([`libsys::rt::entry_tsc`]) is when the machine reached its first user
//! instruction. Its first line is the first user output; it reads the TSC
//! again once that line is written (`println!` returns when the console has
//! written it), then prints what it measured and exits, which ends the run.
//!
//! Under `-icount shift=0` the TSC counts guest instructions since the
//! machine started; without icount it counts time, at `boot.tsc_hz`.
//!
//! Handles: 0 console.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    let entry = libsys::rt::entry_tsc();
    libsys::println!("boot.first_user_instruction={entry}");
    let written = bench::tsc();
    libsys::println!("boot.first_output_written={written}");
    libsys::println!("boot.tsc_hz={}", libsys::time::tsc_hz());
    libsys::println!("boot.status=done");
}
