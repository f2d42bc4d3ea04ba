//! The kernel's entry points, which the entry stubs and trap handlers call.
//!
//! The architecture layer sits below the kernel and does not name its
//! modules. It declares here what it needs from the kernel, the way the
//! kernel's core declares what it needs from the machine
//! (`kernel_core::machine::Machine`); the kernel binary defines each with
//! `#[unsafe(no_mangle)]` under exactly these names (`crate::state`). Each
//! returns the frame to resume: the current thread's (after a switch, the
//! new one's) or the idle frame; or stops the machine. The `syscall` stub
//! calls the two syscall upcalls directly, with the whole frame saved.

use super::pvh::BootInfo;
use kernel_core::events::Event;
use kernel_core::trapframe::TrapFrame;

unsafe extern "Rust" {
    /// The boot CPU is up (its tables, control registers, syscall MSRs and
    /// GS): the kernel boots from what the firmware said.
    pub fn kernel_main(boot: BootInfo) -> !;
    /// Another CPU is up: it schedules from now on.
    pub fn kernel_ap_main(cpu: usize) -> !;
}

unsafe extern "C" {
    /// A syscall the quick path declined, with the whole frame saved:
    /// served by the dispatcher.
    pub fn kernel_syscall() -> *mut TrapFrame;
    /// A `write` the quick path declined (all of them), with the whole
    /// frame saved: the IPC fast path, or the dispatcher.
    pub fn kernel_syscall_write() -> *mut TrapFrame;
    /// An IPC syscall (send to reply_recv) of a register-only message, with
    /// the whole frame saved: the IPC fast path, or the dispatcher.
    pub fn kernel_syscall_ipc() -> *mut TrapFrame;
    /// The same for a message with bytes (or flags, or a timeout).
    pub fn kernel_syscall_ipc_bytes() -> *mut TrapFrame;
    /// An interrupt, `int 0x80` or an exception from ring 3.
    pub fn kernel_event(event: Event) -> *mut TrapFrame;
    /// The current thread's frame is not one ring 3 may resume (its RIP is
    /// not a user address): its process is ended.
    pub fn kernel_bad_frame() -> *mut TrapFrame;
    /// A timer or device interrupt that arrived while the CPU idled.
    pub fn kernel_idle_event(event: Event) -> *mut TrapFrame;
    /// A kick that arrived while the CPU idled: [`kernel_idle_event`] for
    /// `Event::Reschedule`, without an event to pass.
    pub fn kernel_idle_kick() -> *mut TrapFrame;
    /// An NMI: the host asks what every thread is doing (a run that timed
    /// out). Prints it if it can and stops the machine.
    pub fn kernel_dump() -> !;
}
