//! The system tests of `shell.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "shell.rs"]
mod on_2_cpus;
