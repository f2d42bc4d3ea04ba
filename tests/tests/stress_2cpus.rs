//! The system tests of `stress.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "stress.rs"]
mod on_2_cpus;
