//! Kernel entry from the arch layer: every syscall, interrupt and fault from
//! ring 3 arrives here as an event, and leaves with the frame to resume.

use crate::arch::{Event, TrapFrame};

/// Handles `event` for the thread whose frame is `frame`; returns the frame
/// to resume.
pub fn enter(event: Event, _frame: *mut TrapFrame) -> *mut TrapFrame {
    panic!("no user mode yet: {event:?}");
}

/// A timer tick that arrived while the CPU was idle.
pub fn idle_tick(frame: *mut TrapFrame) -> *mut TrapFrame {
    frame
}
