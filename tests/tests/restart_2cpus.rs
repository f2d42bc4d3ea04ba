//! The system tests of `restart.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "restart.rs"]
mod on_2_cpus;
