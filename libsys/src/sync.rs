//! A mutex for the threads of a process, built on a notification: a
//! thread that finds it taken waits in the kernel, not in a spin loop.
//!
//! The lock word is 0 (free), 1 (taken) or 2 (taken, and someone may be
//! waiting). Taking it is one compare-and-swap when it is free; a thread
//! that finds it taken marks it 2 and waits on the notification; the
//! holder that finds 2 when it lets go signals the notification, which
//! wakes one waiter. Notification bits stay set until taken, so a signal
//! sent before its waiter got to `notify_wait` is not lost.

use crate::Result;
use crate::process::Notification;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

const FREE: u32 = 0;
const TAKEN: u32 = 1;
const CONTENDED: u32 = 2;

/// A value only one thread at a time may use.
pub struct Mutex<T> {
    state: AtomicU32,
    wakeup: Notification,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to the value, so the
// mutex may be shared between threads whenever the value may be sent.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above; the notification handle is the process's, not a
// thread's.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A free mutex holding `value` (it makes a notification: one handle).
    pub fn new(value: T) -> Result<Mutex<T>> {
        Ok(Mutex {
            state: AtomicU32::new(FREE),
            wakeup: Notification::new()?,
            value: UnsafeCell::new(value),
        })
    }

    /// Takes the mutex, waiting while another thread holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.state.swap(CONTENDED, Ordering::Acquire) != FREE {
                // A failed wait (the handle gone) must not spin silently
                // forever: it would be a bug in this program.
                self.wakeup.wait().expect("the mutex's notification");
            }
        }
        MutexGuard { mutex: self }
    }

    /// Takes the mutex if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state
            .compare_exchange(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    fn unlock(&self) {
        if self.state.swap(FREE, Ordering::Release) == CONTENDED {
            let _ = self.wakeup.signal(1);
        }
    }
}

/// The mutex held: the value, until it is dropped.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; the guard is borrowed mutably.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
