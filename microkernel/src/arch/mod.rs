//! The architecture facade: everything that touches the CPU lives below here.
//!
//! Generic kernel code never writes an MSR or inline assembly; it calls the
//! names this module re-exports. Each architecture defines the same names.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the microkernel supports only x86_64");
