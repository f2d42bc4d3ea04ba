//! IPC, split by concern: the rendezvous state machine ([`state`]), the
//! messages the kernel composes itself ([`message`]), moving a message into
//! its receiver ([`transfer`]), the syscalls ([`syscalls`]) and the fast
//! path for register-only calls and replies ([`fastpath`]).

pub mod fastpath;
pub mod message;
pub mod state;
pub mod syscalls;
pub mod transfer;
