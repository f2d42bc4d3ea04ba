//! low-printer: reports the tick it ran at (`ran_at_tick=N`) and exits. Run
//! at a lower priority than a busy program, it must run only after that
//! program is gone.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    libsys::results::report("ran_at_tick", libsys::get_ticks());
}
