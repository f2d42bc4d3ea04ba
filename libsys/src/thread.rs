//! Threads of this process (with the `alloc` feature): [`spawn`] runs a
//! closure on a new thread with a stack of its own, and
//! [`JoinHandle::join`] waits for it and returns what it returned.
//!
//! The stack is mapped with `mem_map`, with an unmapped guard page below
//! it (an overflow faults instead of running into other memory). The kernel
//! signals the join notification only once the thread is gone
//! (`thread_exit`), so `join` can unmap the stack safely.

extern crate alloc;

use crate::process::Notification;
use crate::{Error, Result, sys};
use abi::PAGE_SIZE;
use abi::memory::Perms;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;

/// Bytes of a thread's stack (the guard page comes on top).
pub const STACK_SIZE: usize = 64 << 10;

/// What a thread leaves for its joiner.
struct Packet<T> {
    result: UnsafeCell<Option<T>>,
}

// SAFETY: the thread writes the result before it exits, and the joiner
// reads it only after the kernel said the thread is gone (the notification
// orders the two).
unsafe impl<T: Send> Sync for Packet<T> {}

/// What the new thread starts with: its closure and the handle to signal
/// at its end.
struct Start {
    main: Box<dyn FnOnce() + Send>,
    done: u64,
}

/// A thread [`spawn`] started.
pub struct JoinHandle<T> {
    id: u64,
    done: Notification,
    stack: u64,
    packet: Arc<Packet<T>>,
}

impl<T> JoinHandle<T> {
    /// Its thread id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits until the thread is gone and returns what its closure
    /// returned (`None` if it panicked: a panic ends the process anyway).
    pub fn join(self) -> Option<T> {
        while self.done.wait().unwrap_or(1) == 0 {}
        // SAFETY: the thread is gone (the kernel signalled after it left
        // its stack): nothing else uses the stack.
        let _ = unsafe { sys::mem_unmap(self.stack - PAGE_SIZE, STACK_SIZE + PAGE_SIZE as usize) };
        // SAFETY: the thread wrote the result before it exited and will
        // never touch it again.
        unsafe { (*self.packet.result.get()).take() }
    }
}

/// Runs `main` on a new thread of this process.
pub fn spawn<F, T>(main: F) -> Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let done = Notification::new()?;
    let mapping = sys::mem_map(0, STACK_SIZE + PAGE_SIZE as usize, Perms::READ | Perms::WRITE)?;
    // The lowest page is the guard: unmapped, so an overflow faults.
    // SAFETY: the page was just mapped and nothing uses it.
    unsafe { sys::mem_unmap(mapping, PAGE_SIZE as usize)? };
    let stack = mapping + PAGE_SIZE;
    let packet = Arc::new(Packet {
        result: UnsafeCell::new(None),
    });
    let theirs = packet.clone();
    let start = Box::new(Start {
        main: Box::new(move || {
            let value = main();
            // SAFETY: only this thread writes the result, before it exits.
            unsafe { *theirs.result.get() = Some(value) };
        }),
        done: done.handle(),
    });
    let arg = Box::into_raw(start) as u64;
    let top = stack + STACK_SIZE as u64 - 8;
    // SAFETY: `thread_start` is `extern "C" fn(u64) -> !`, and the stack was
    // just mapped for this thread alone; its top minus 8 is how a call
    // leaves the stack.
    match unsafe { sys::thread_create(thread_start as *const () as u64, top, arg) } {
        Ok(id) => Ok(JoinHandle {
            id,
            done,
            stack,
            packet,
        }),
        Err(error) => {
            // SAFETY: the thread never started: the box is ours again.
            drop(unsafe { Box::from_raw(arg as *mut Start) });
            // SAFETY: nothing runs on the stack.
            let _ = unsafe { sys::mem_unmap(stack, STACK_SIZE) };
            Err(error)
        }
    }
}

/// Where a spawned thread starts: runs its closure, then exits, asking the
/// kernel to signal its joiner once it is gone.
extern "C" fn thread_start(arg: u64) -> ! {
    // SAFETY: `spawn` passed the box it leaked, once, to this thread.
    let start = unsafe { Box::from_raw(arg as *mut Start) };
    let Start { main, done } = *start;
    main();
    sys::thread_exit(done, 1)
}

/// The error `spawn` gives when the manifest's thread limit is reached.
pub const LIMIT: Error = Error::TABLEFULL;
