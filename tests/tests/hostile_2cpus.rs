//! The system tests of `hostile.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "hostile.rs"]
mod on_2_cpus;
