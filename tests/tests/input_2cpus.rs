//! The system tests of `input.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "input.rs"]
mod on_2_cpus;
