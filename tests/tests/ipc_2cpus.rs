//! The system tests of `ipc.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "ipc.rs"]
mod on_2_cpus;
