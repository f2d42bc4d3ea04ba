//! The microkernel: a small x86_64 kernel whose system calls are IPC.
//!
//! This file only routes. The pure logic (frame allocator, memory map, ELF
//! checks, handle tables, scheduler queues, IPC state) builds and unit-tests
//! on the host with `cargo test`; everything that touches the machine is
//! behind `arch` and builds only for `x86_64-unknown-none`.

#![cfg_attr(target_os = "none", no_std, no_main)]
// On the host only the pure modules are compiled, for their tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code, unused_imports))]

mod arch;
mod cmdline;
mod config;
mod elf;
mod frames;
#[cfg(test)]
mod fuzz;
mod handles;
mod ipc;
mod list;
mod memmap;
mod sched;

#[cfg(target_os = "none")]
mod fastpath;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod log;
#[cfg(target_os = "none")]
mod messages;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
mod process;
#[cfg(target_os = "none")]
mod startup;
#[cfg(target_os = "none")]
mod state;
#[cfg(target_os = "none")]
mod syscalls;
#[cfg(target_os = "none")]
mod trace;
#[cfg(target_os = "none")]
mod umem;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the microkernel runs in QEMU: use `cargo xtask run`");
}
