//! spinner: says so, then spins forever without a syscall. Only a kill (or
//! its manifest's `cpu_limit`) ends it: the program a shell stops with
//! Ctrl-C or `kill`.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    libsys::results::report("spinning", 1);
    let mut state: u64 = 1;
    loop {
        state = core::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
