//! The system tests of `demo.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "demo.rs"]
mod on_2_cpus;
