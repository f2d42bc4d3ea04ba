//! The system tests of `syscalls.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "syscalls.rs"]
mod on_2_cpus;
