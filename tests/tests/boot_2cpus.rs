//! The system tests of `boot.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "boot.rs"]
mod on_2_cpus;
