//! Notifications: a word of bits per object. `signal` ORs bits in and never
//! blocks; `wait` takes them all out, queueing the thread while they are
//! clear. A notification bound to an endpoint hands its bits to a thread
//! waiting to receive there, as seL4's bound notifications do, so a server
//! waits for messages and interrupts in one `recv`.
//!
//! Like the rest of [`super`], this decides who wakes with what; the kernel
//! writes the results into registers and readies the threads.

use super::{Ipc, IpcState, Wakeups};
use crate::list::List;
use abi::Error;

/// One notification slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Notification {
    pub(super) live: bool,
    /// The bits signalled and not yet taken.
    pub(super) bits: u64,
    /// Threads in `notify_wait`, first come first served.
    pub(super) waiters: List,
    /// Open handles naming it; it is freed with the last.
    pub(super) handles: u32,
    /// The endpoint it is bound to, if any.
    pub(super) bound: Option<usize>,
}

impl Notification {
    pub(super) const FREE: Notification = Notification {
        live: false,
        bits: 0,
        waiters: List::EMPTY,
        handles: 0,
        bound: None,
    };
}

/// Who a signal woke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signalled {
    /// Nobody was waiting: the bits stay until someone waits or receives.
    Pending,
    /// A thread in `notify_wait` takes `bits` (now clear) as its result.
    Woke {
        /// The thread that waited.
        thread: usize,
        /// Every bit pending, the new ones included.
        bits: u64,
    },
    /// A thread waiting to receive on the bound endpoint takes `bits` (now
    /// clear) as a notification message; it no longer waits.
    Received {
        /// The receiver.
        thread: usize,
        /// Every bit pending.
        bits: u64,
    },
}

impl<const T: usize, const E: usize, const N: usize> Ipc<T, E, N> {
    /// Allocates a notification with all bits clear. It lives while handles
    /// name it.
    pub fn create_notification(&mut self) -> Result<usize, Error> {
        let slot = self
            .notifications
            .iter()
            .position(|n| !n.live)
            .ok_or(Error::TABLEFULL)?;
        self.notifications[slot] = Notification {
            live: true,
            ..Notification::FREE
        };
        Ok(slot)
    }

    /// Live notifications.
    pub fn notification_count(&self) -> usize {
        self.notifications.iter().filter(|n| n.live).count()
    }

    /// Whether `notification` is a live notification.
    pub fn is_notification_live(&self, notification: usize) -> bool {
        self.notifications.get(notification).is_some_and(|n| n.live)
    }

    /// Open handles naming `notification`.
    pub fn notification_handles(&self, notification: usize) -> u32 {
        self.notifications[notification].handles
    }

    /// The bits pending on `notification`.
    pub fn pending_bits(&self, notification: usize) -> u64 {
        self.notifications[notification].bits
    }

    /// Counts a new handle to `notification`.
    pub fn notification_opened(&mut self, notification: usize) {
        let n = &mut self.notifications[notification];
        assert!(n.live, "a handle names a live notification");
        n.handles += 1;
    }

    /// Counts a closed handle; with the last, the notification is freed
    /// and unbound. Returns whether it was freed, and the threads still
    /// waiting on it (none can be: each waiter holds a handle; to wake
    /// with EPEERGONE all the same).
    pub fn notification_closed(&mut self, notification: usize) -> (bool, Wakeups<T>) {
        let mut woken = Wakeups::new();
        let n = &mut self.notifications[notification];
        assert!(n.live && n.handles > 0, "a closed handle was counted");
        n.handles -= 1;
        if n.handles > 0 {
            return (false, woken);
        }
        while let Some(waiter) = self.notifications[notification].waiters.pop_front(&mut self.links) {
            self.states[waiter] = IpcState::Idle;
            let _ = woken.push(waiter);
        }
        if let Some(endpoint) = self.notifications[notification].bound {
            self.endpoints[endpoint].bound = None;
        }
        self.notifications[notification] = Notification::FREE;
        (true, woken)
    }

    /// ORs `bits` into `notification` and hands all its bits to the first
    /// waiter, or else to the first receiver of its bound endpoint.
    pub fn signal(&mut self, notification: usize, bits: u64) -> Signalled {
        let n = &mut self.notifications[notification];
        assert!(n.live, "signals go to live notifications");
        n.bits |= bits;
        if n.bits == 0 {
            return Signalled::Pending;
        }
        if let Some(thread) = n.waiters.pop_front(&mut self.links) {
            let bits = core::mem::take(&mut n.bits);
            self.states[thread] = IpcState::Idle;
            return Signalled::Woke { thread, bits };
        }
        self.deliver_bound(notification)
    }

    /// Hands the pending bits of `notification` to the first receiver of
    /// its bound endpoint, if there is one.
    fn deliver_bound(&mut self, notification: usize) -> Signalled {
        let n = &mut self.notifications[notification];
        let Some(endpoint) = n.bound else {
            return Signalled::Pending;
        };
        match self.endpoints[endpoint].receivers.pop_front(&mut self.links) {
            Some(thread) => {
                let bits = core::mem::take(&mut self.notifications[notification].bits);
                self.states[thread] = IpcState::Idle;
                Signalled::Received { thread, bits }
            }
            None => Signalled::Pending,
        }
    }

    /// `thread` waits for bits: returns them (now clear) if there are any,
    /// else queues it and returns `None`.
    pub fn wait(&mut self, thread: usize, notification: usize) -> Option<u64> {
        assert_eq!(self.states[thread], IpcState::Idle, "a thread waits for one thing");
        let n = &mut self.notifications[notification];
        if n.bits != 0 {
            return Some(core::mem::take(&mut n.bits));
        }
        n.waiters.push_back(&mut self.links, thread);
        self.states[thread] = IpcState::Waiting { notification };
        None
    }

    /// Binds `notification` to `endpoint`: EEXIST if either is bound. Bits
    /// already pending go to a receiver already waiting.
    pub fn bind(&mut self, notification: usize, endpoint: usize) -> Result<Signalled, Error> {
        if self.notifications[notification].bound.is_some() || self.endpoints[endpoint].bound.is_some() {
            return Err(Error::EXIST);
        }
        self.notifications[notification].bound = Some(endpoint);
        self.endpoints[endpoint].bound = Some(notification);
        if self.notifications[notification].bits == 0 || !self.notifications[notification].waiters.is_empty() {
            return Ok(Signalled::Pending);
        }
        Ok(self.deliver_bound(notification))
    }

    /// The bits of the notification bound to `endpoint`, taken, if any are
    /// set.
    pub(super) fn take_bound_bits(&mut self, endpoint: usize) -> Option<u64> {
        let notification = self.endpoints[endpoint].bound?;
        let n = &mut self.notifications[notification];
        (n.bits != 0).then(|| core::mem::take(&mut n.bits))
    }

    /// `thread` waits for the process of `record` to end.
    pub fn join(&mut self, thread: usize, record: usize) {
        assert_eq!(self.states[thread], IpcState::Idle, "a thread waits for one thing");
        self.states[thread] = IpcState::Joining { record };
        self.joining += 1;
    }

    /// The threads waiting for the process of `record` to end, released:
    /// the kernel gives each the result and wakes it.
    pub fn release_joiners(&mut self, record: usize) -> Wakeups<T> {
        let mut released = Wakeups::new();
        if self.joining == 0 {
            return released;
        }
        for thread in 0..T {
            if self.states[thread] == (IpcState::Joining { record }) {
                self.states[thread] = IpcState::Idle;
                self.joining -= 1;
                let _ = released.push(thread);
            }
        }
        released
    }

    /// The notification checks of [`Ipc::check`]: waiters are in the
    /// queue their state names (counted into `queued`), free slots are
    /// empty, bindings agree both ways, and nobody waits while bits are
    /// pending.
    pub(super) fn check_notifications(&self, queued: &mut [usize; T]) -> Result<(), &'static str> {
        for (index, n) in self.notifications.iter().enumerate() {
            if !n.live {
                if *n != Notification::FREE {
                    return Err("a free notification is all clear");
                }
                continue;
            }
            if !n.waiters.is_empty() && n.bits != 0 {
                return Err("nobody waits on a notification with bits pending");
            }
            if let Some(endpoint) = n.bound
                && (!self.endpoints[endpoint].live || self.endpoints[endpoint].bound != Some(index))
            {
                return Err("a notification is bound to a live endpoint bound to it");
            }
            if let Some(endpoint) = n.bound
                && n.bits != 0
                && !self.endpoints[endpoint].receivers.is_empty()
            {
                return Err("nobody waits to receive while the bound notification has bits");
            }
            for waiter in n.waiters.iter(&self.links) {
                queued[waiter] += 1;
                if self.states[waiter] != (IpcState::Waiting { notification: index }) {
                    return Err("a queued waiter waits on that notification");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{IpcState, RecvOutcome, SendOutcome};
    use super::*;
    use abi::Rights;

    type Small = Ipc<8, 4, 4>;

    fn setup() -> (Small, usize) {
        let mut ipc = Small::new();
        let n = ipc.create_notification().unwrap();
        ipc.notification_opened(n);
        (ipc, n)
    }

    #[test]
    fn bits_accumulate_until_taken() {
        let (mut ipc, n) = setup();
        assert_eq!(ipc.signal(n, 0b01), Signalled::Pending);
        assert_eq!(ipc.signal(n, 0b10), Signalled::Pending);
        assert_eq!(ipc.signal(n, 0), Signalled::Pending);
        assert_eq!(ipc.wait(1, n), Some(0b11));
        assert_eq!(ipc.pending_bits(n), 0);
        assert_eq!(ipc.wait(1, n), None);
        assert_eq!(ipc.state(1), IpcState::Waiting { notification: n });
        ipc.check().unwrap();
    }

    #[test]
    fn waiters_wake_in_order_with_all_bits() {
        let (mut ipc, n) = setup();
        assert_eq!(ipc.wait(1, n), None);
        assert_eq!(ipc.wait(2, n), None);
        assert_eq!(ipc.signal(n, 4), Signalled::Woke { thread: 1, bits: 4 });
        assert_eq!(ipc.state(1), IpcState::Idle);
        assert_eq!(ipc.signal(n, 8), Signalled::Woke { thread: 2, bits: 8 });
        assert_eq!(ipc.signal(n, 16), Signalled::Pending);
        ipc.check().unwrap();
    }

    #[test]
    fn a_waiter_that_times_out_leaves_the_queue() {
        let (mut ipc, n) = setup();
        ipc.wait(1, n);
        ipc.wait(2, n);
        ipc.timeout(1);
        assert_eq!(ipc.signal(n, 1), Signalled::Woke { thread: 2, bits: 1 });
        ipc.wait(3, n);
        ipc.cancel(3);
        assert_eq!(ipc.signal(n, 1), Signalled::Pending);
        ipc.check().unwrap();
    }

    #[test]
    fn a_bound_notification_wakes_a_receiver_before_senders() {
        let (mut ipc, n) = setup();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::RECEIVE);
        ipc.handle_opened(ep, Rights::SEND);
        assert_eq!(ipc.bind(n, ep), Ok(Signalled::Pending));
        assert_eq!(ipc.bind(n, ep), Err(Error::EXIST));
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Blocked);
        assert_eq!(ipc.signal(n, 2), Signalled::Received { thread: 1, bits: 2 });
        assert_eq!(ipc.state(1), IpcState::Idle);
        // Bits pending come before a queued sender.
        assert_eq!(ipc.send(2, ep, false), Ok(SendOutcome::Blocked));
        assert_eq!(ipc.signal(n, 1), Signalled::Pending);
        assert!(ipc.has_sender(ep));
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Signal { bits: 1 });
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 2, call: false });
        ipc.complete(2, 1, false);
        // A notify_wait waiter still comes before the bound endpoint.
        ipc.recv(1, ep);
        ipc.wait(3, n);
        assert_eq!(ipc.signal(n, 1), Signalled::Woke { thread: 3, bits: 1 });
        ipc.check().unwrap();
    }

    #[test]
    fn binding_delivers_bits_already_pending() {
        let (mut ipc, n) = setup();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::RECEIVE);
        ipc.recv(1, ep);
        ipc.signal(n, 5);
        assert_eq!(ipc.bind(n, ep), Ok(Signalled::Received { thread: 1, bits: 5 }));
        ipc.check().unwrap();
    }

    #[test]
    fn bindings_end_with_either_object() {
        let (mut ipc, n) = setup();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::RECEIVE);
        ipc.bind(n, ep).unwrap();
        ipc.handle_closed(ep, Rights::RECEIVE);
        ipc.check().unwrap();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::RECEIVE);
        ipc.bind(n, ep).unwrap();
        assert_eq!(ipc.notification_closed(n), (true, Wakeups::new()));
        assert_eq!(ipc.notification_count(), 0);
        assert!(!ipc.has_sender(ep));
        ipc.check().unwrap();
        let n = ipc.create_notification().unwrap();
        ipc.notification_opened(n);
        assert_eq!(
            ipc.bind(n, ep),
            Ok(Signalled::Pending),
            "the endpoint is free to bind again"
        );
    }

    #[test]
    fn joiners_are_released_together() {
        let mut ipc = Small::new();
        ipc.join(1, 5);
        ipc.join(2, 5);
        ipc.join(3, 6);
        assert_eq!(ipc.release_joiners(5).as_slice(), &[1, 2]);
        assert_eq!(ipc.state(3), IpcState::Joining { record: 6 });
        ipc.timeout(3);
        assert!(ipc.release_joiners(6).is_empty());
        ipc.check().unwrap();
    }

    #[test]
    fn the_table_fills() {
        let mut ipc = Small::new();
        for _ in 0..4 {
            let n = ipc.create_notification().unwrap();
            ipc.notification_opened(n);
        }
        assert_eq!(ipc.create_notification(), Err(Error::TABLEFULL));
    }
}
