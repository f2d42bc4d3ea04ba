//! The kernel's logic: handles, IPC, processes and scheduling, generic over
//! the machine ([`machine::Machine`]) so that it builds and is tested on the
//! host as well as in the kernel.
//!
//! This file only routes. The layers, lowest first (each module uses only
//! those before it):
//!
//! - pure data and algorithms: [`config`], [`list`], [`cmdline`], [`log`],
//!   [`memmap`], [`elf`], [`physmem`], [`trapframe`], [`handles`],
//!   [`runqueue`], [`space`], [`umem`], [`regions`], [`memory`], [`quota`];
//! - the machine boundary: [`machine`];
//! - state machines: [`sched`] (every run-state change), [`ipc::state`]
//!   (rendezvous and reply slots), [`ipc::message`] (the messages the kernel
//!   composes);
//! - the kernel state: [`kernel`];
//! - operations on it: [`wake`], [`trace`], [`objects`], [`vm`],
//!   [`ipc::transfer`], [`process`], [`ipc::syscalls`], [`ipc::fastpath`],
//!   [`syscalls`], [`image`], [`events`].

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

pub mod acpi;
pub mod clock;
pub mod cmdline;
pub mod config;
pub mod elf;
pub mod events;
pub mod handles;
pub mod image;
pub mod ipc;
pub mod irq;
pub mod kernel;
pub mod list;
pub mod log;
pub mod machine;
pub mod memmap;
pub mod memory;
pub mod objects;
pub mod physmem;
pub mod process;
pub mod quota;
pub mod records;
pub mod regions;
pub mod runqueue;
pub mod sched;
pub mod signals;
pub mod space;
pub mod syscalls;
pub mod trace;
pub mod trapframe;
pub mod umem;
pub mod vm;
pub mod wake;
