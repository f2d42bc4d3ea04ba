//! The microkernel: a small x86_64 kernel whose system calls are IPC.
//!
//! This file only routes. The kernel's logic is the `kernel_core` crate,
//! generic over the machine and tested on the host; this binary adds the
//! machine (`arch`), owns the one kernel state (`state`) and boots
//! (`startup`). Everything here but `arch::gdt` builds only for
//! `x86_64-unknown-none`.

#![cfg_attr(target_os = "none", no_std, no_main)]
// On the host only `arch::gdt` is compiled, for its tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code, unused_imports))]

mod arch;

#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
mod startup;
#[cfg(target_os = "none")]
mod state;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the microkernel runs in QEMU: use `cargo xtask run`");
}
