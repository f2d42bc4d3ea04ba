//! The system tests of `faults.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "faults.rs"]
mod on_2_cpus;
