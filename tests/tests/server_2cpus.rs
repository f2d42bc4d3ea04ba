//! The system tests of `server.rs`, run again on two CPUs (see
//! `systests::TWO_CPUS_MODULE`).

#[path = "server.rs"]
mod on_2_cpus;
