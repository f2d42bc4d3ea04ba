//! The system tests of `memory.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "memory.rs"]
mod on_2_cpus;
