//! hog: holds the CPU forever, making no syscall at all after it reports
//! `spinning=true`. Only the timer can take the CPU back: programs of its priority
//! must still run and finish (preemption), and its manifest entry's
//! `cpu_limit` must end it (`killed: CPU time limit`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() -> i32 {
    libsys::results::report("spinning", true);
    let mut state: u64 = 1;
    loop {
        state = core::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
