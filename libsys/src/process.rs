//! Children and notifications as values: a [`Child`] owns its process
//! handle, a [`Notification`] its notification handle; both close it when
//! dropped.

use crate::{Handle, Result, sys};
use abi::notify::NONBLOCK;
use abi::process::Ending;

/// A process this one spawned ([`sys::spawn`]).
#[derive(Debug)]
pub struct Child {
    handle: Handle,
    pid: u32,
}

impl Child {
    /// Takes ownership of a process handle.
    pub fn from_raw(handle: Handle, pid: u32) -> Child {
        Child { handle, pid }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process handle (WAIT, KILL and TRANSFER).
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Waits until it has ended; returns how, with the detail.
    pub fn wait(&self) -> Result<(Ending, u64)> {
        sys::process_wait(self.handle, 0, 0)
    }

    /// How it ended, if it has (ETIMEDOUT if it still runs).
    pub fn try_wait(&self) -> Result<(Ending, u64)> {
        sys::process_wait(self.handle, 0, NONBLOCK)
    }

    /// Waits at most `ticks` timer ticks.
    pub fn wait_timeout(&self, ticks: u64) -> Result<(Ending, u64)> {
        sys::process_wait(self.handle, ticks, 0)
    }

    /// Ends it.
    pub fn kill(&self) -> Result<()> {
        sys::process_kill(self.handle)
    }

    /// Signals `bits` on `notification` when it ends.
    pub fn watch(&self, notification: &Notification, bits: u64) -> Result<()> {
        sys::process_watch(self.handle, notification.handle(), bits)
    }

    /// Gives the handle up without closing it.
    pub fn into_raw(self) -> Handle {
        let handle = self.handle;
        core::mem::forget(self);
        handle
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = sys::handle_close(self.handle);
    }
}

/// A notification: a word of bits that signals set and waits take.
#[derive(Debug)]
pub struct Notification {
    handle: Handle,
}

impl Notification {
    /// Creates one.
    pub fn new() -> Result<Notification> {
        Ok(Notification {
            handle: sys::notify_create()?,
        })
    }

    /// Takes ownership of a notification handle.
    pub fn from_raw(handle: Handle) -> Notification {
        Notification { handle }
    }

    /// Its handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// ORs `bits` in.
    pub fn signal(&self, bits: u64) -> Result<()> {
        sys::notify(self.handle, bits)
    }

    /// Takes the bits, waiting while there are none.
    pub fn wait(&self) -> Result<u64> {
        sys::notify_wait(self.handle, 0, 0)
    }

    /// Takes the bits, waiting at most `ticks` (ETIMEDOUT if none came).
    pub fn wait_timeout(&self, ticks: u64) -> Result<u64> {
        sys::notify_wait(self.handle, ticks, 0)
    }

    /// Takes the bits if there are any (ETIMEDOUT if not).
    pub fn poll(&self) -> Result<u64> {
        sys::notify_wait(self.handle, 0, NONBLOCK)
    }

    /// Binds it to `endpoint`, whose receivers then get its bits too.
    pub fn bind(&self, endpoint: Handle) -> Result<()> {
        sys::notify_bind(self.handle, endpoint)
    }
}

impl Drop for Notification {
    fn drop(&mut self) {
        let _ = sys::handle_close(self.handle);
    }
}
