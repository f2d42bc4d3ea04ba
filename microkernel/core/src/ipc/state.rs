//! The IPC rendezvous state machine: endpoints, their wait queues, and each
//! thread's IPC state. Synchronous, L4/seL4 style: a message moves only when
//! a sender and a receiver meet; whoever comes first waits on the endpoint.
//!
//! Notifications live here too ([`notify`]): a thread waiting for bits
//! queues on the same links as one waiting for a message, and a
//! notification bound to an endpoint wakes that endpoint's receivers.
//!
//! This module decides who meets whom and which state each thread is left
//! in. It moves no data and schedules nothing: `transfer` copies the message
//! after a rendezvous (and may refuse it, see [`Ipc::undo_receive`]) and the
//! scheduler readies the threads this module reports. Pure logic, tested on
//! the host.

use crate::list::{Links, List};
use abi::{Error, Rights};
use heapless::Vec;

pub mod notify;

use notify::Notification;
pub use notify::Signalled;

/// What a thread is doing, as far as IPC is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpcState {
    /// Not waiting on IPC (running, ready, or blocked for another reason).
    Idle,
    /// Queued on an endpoint with a message; `call` if it wants a reply.
    Sending {
        /// The endpoint it is queued on.
        endpoint: usize,
        /// Whether it waits for a reply after the send.
        call: bool,
    },
    /// Queued on an endpoint waiting for a message.
    Receiving {
        /// The endpoint it is queued on.
        endpoint: usize,
    },
    /// Its call was received by `server`; waiting for the reply.
    AwaitingReply {
        /// The thread that owes the reply.
        server: usize,
    },
    /// Queued on a notification, waiting for bits (`notify_wait`).
    Waiting {
        /// The notification it is queued on.
        notification: usize,
    },
    /// Waiting for a process to end (`process_wait`): not queued, the
    /// process's end finds it by this state.
    Joining {
        /// The process record it waits on.
        record: usize,
    },
}

/// Whom a thread owes a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplySlot {
    /// No one.
    Empty,
    /// This caller, which waits for the reply.
    Caller(usize),
    /// The caller died, or stopped waiting, before the reply.
    Gone,
}

/// Result of a send or call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// A receiver was waiting and has been taken off the queue: move the
    /// message to it, then call [`Ipc::complete`] (or [`Ipc::undo_receive`]).
    Rendezvous {
        /// The receiver that takes the message.
        receiver: usize,
    },
    /// No receiver yet: the sender now waits on the endpoint.
    Blocked,
}

/// Result of a receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvOutcome {
    /// A sender was waiting and has been taken off the queue.
    Rendezvous {
        /// The sender whose message is taken.
        sender: usize,
        /// Whether it waits for a reply.
        call: bool,
    },
    /// The endpoint's bound notification had bits: the receiver takes them
    /// (they are now clear) as a notification message, without waiting.
    Signal {
        /// The bits.
        bits: u64,
    },
    /// Nothing queued: the receiver now waits on the endpoint.
    Blocked,
}

/// Threads to wake with an error because a peer or endpoint went away.
pub type Wakeups<const T: usize> = Vec<usize, T>;

/// The threads waiting to receive on an endpoint, first come first
/// served: the first in a slot of its own (`parked`), the others on a list
/// behind it. A server waits alone on its endpoint almost always, so the
/// IPC fast path takes it and puts it back with one store each, without
/// list operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Receivers {
    /// The first receiver, or [`NO_THREAD`].
    parked: u16,
    /// The receivers after it, in order. Non-empty only while `parked`
    /// holds one.
    rest: List,
}

/// `Receivers::parked` with nobody parked.
const NO_THREAD: u16 = u16::MAX;

impl Receivers {
    const EMPTY: Receivers = Receivers {
        parked: NO_THREAD,
        rest: List::EMPTY,
    };

    /// Whether nobody waits.
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.parked == NO_THREAD
    }

    /// The first receiver.
    #[inline(always)]
    fn front(&self) -> Option<usize> {
        (self.parked != NO_THREAD).then_some(self.parked as usize)
    }

    /// Queues `thread` last.
    #[inline(always)]
    pub(super) fn push_back<const T: usize>(&mut self, links: &mut Links<T>, thread: usize) {
        if self.parked == NO_THREAD {
            debug_assert!(self.rest.is_empty());
            self.parked = thread as u16;
        } else {
            self.rest.push_back(links, thread);
        }
    }

    /// Queues `thread` first.
    pub(super) fn push_front<const T: usize>(&mut self, links: &mut Links<T>, thread: usize) {
        if self.parked != NO_THREAD {
            self.rest.push_front(links, self.parked as usize);
        }
        self.parked = thread as u16;
    }

    /// Takes the first receiver.
    #[inline(always)]
    pub(super) fn pop_front<const T: usize>(&mut self, links: &mut Links<T>) -> Option<usize> {
        let first = self.front()?;
        self.parked = self.rest.pop_front(links).map_or(NO_THREAD, |next| next as u16);
        Some(first)
    }

    /// Takes the receiver that waits alone (the IPC fast path in shared
    /// mode, which touches no links).
    #[inline(always)]
    pub(super) fn take_lone(&mut self) -> Option<usize> {
        debug_assert!(self.rest.is_empty(), "a lone receiver");
        let first = self.front()?;
        self.parked = NO_THREAD;
        Some(first)
    }

    /// Parks `thread` where nobody waits (the IPC fast path in shared
    /// mode).
    #[inline(always)]
    pub(super) fn park(&mut self, thread: usize) {
        debug_assert!(self.is_empty(), "nobody waits");
        self.parked = thread as u16;
    }

    /// Takes `thread`, which waits here, off.
    pub(super) fn remove<const T: usize>(&mut self, links: &mut Links<T>, thread: usize) {
        if self.parked as usize == thread {
            self.parked = self.rest.pop_front(links).map_or(NO_THREAD, |next| next as u16);
        } else {
            self.rest.remove(links, thread);
        }
    }

    /// The receivers in order.
    pub(super) fn iter<'a, const T: usize>(&self, links: &'a Links<T>) -> impl Iterator<Item = usize> + 'a {
        self.front().into_iter().chain(self.rest.iter(links))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Endpoint {
    live: bool,
    senders: List,
    receivers: Receivers,
    /// Open handles naming the endpoint.
    handles: u32,
    /// Open handles with the RECEIVE right: with none, nobody can ever take
    /// a message, so sends fail with PEERGONE instead of waiting forever.
    receive_handles: u32,
    /// The notification bound to it (`notify_bind`), if any.
    bound: Option<usize>,
}

impl Endpoint {
    const FREE: Endpoint = Endpoint {
        live: false,
        senders: List::EMPTY,
        receivers: Receivers::EMPTY,
        handles: 0,
        receive_handles: 0,
        bound: None,
    };
}

/// IPC state of `T` thread slots, `E` endpoint slots and `N` notification
/// slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipc<const T: usize, const E: usize, const N: usize> {
    endpoints: [Endpoint; E],
    notifications: [Notification; N],
    states: [IpcState; T],
    replies: [ReplySlot; T],
    links: Links<T>,
    /// Threads in the `Joining` state: with none, releasing a record's
    /// joiners scans nothing.
    joining: usize,
}

impl<const T: usize, const E: usize, const N: usize> Ipc<T, E, N> {
    /// No endpoints or notifications, every thread idle.
    pub const fn new() -> Self {
        Ipc {
            endpoints: [Endpoint::FREE; E],
            notifications: [Notification::FREE; N],
            states: [IpcState::Idle; T],
            replies: [ReplySlot::Empty; T],
            links: Links::new(),
            joining: 0,
        }
    }

    /// Allocates an endpoint slot. It lives while handles name it.
    pub fn create_endpoint(&mut self) -> Result<usize, Error> {
        let slot = self.endpoints.iter().position(|e| !e.live).ok_or(Error::TABLEFULL)?;
        self.endpoints[slot] = Endpoint {
            live: true,
            ..Endpoint::FREE
        };
        Ok(slot)
    }

    /// Live endpoints.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.iter().filter(|e| e.live).count()
    }

    /// Counts a new handle to `endpoint`.
    pub fn handle_opened(&mut self, endpoint: usize, rights: Rights) {
        let e = &mut self.endpoints[endpoint];
        assert!(e.live, "a handle names a live endpoint");
        e.handles += 1;
        if rights.contains(Rights::RECEIVE) {
            e.receive_handles += 1;
        }
    }

    /// Counts a closed handle. When the last RECEIVE handle goes, every
    /// queued sender and waiting receiver is woken (PEERGONE); when the
    /// last handle goes, the endpoint is freed. Returns the threads to wake with PEERGONE.
    pub fn handle_closed(&mut self, endpoint: usize, rights: Rights) -> Wakeups<T> {
        let mut woken = Wakeups::new();
        let e = &mut self.endpoints[endpoint];
        assert!(e.live && e.handles > 0, "a closed handle was counted");
        e.handles -= 1;
        if rights.contains(Rights::RECEIVE) {
            e.receive_handles -= 1;
        }
        let orphaned = e.receive_handles == 0;
        let freed = e.handles == 0;
        if orphaned {
            while let Some(sender) = self.endpoints[endpoint].senders.pop_front(&mut self.links) {
                self.states[sender] = IpcState::Idle;
                let _ = woken.push(sender);
            }
            // A receiver whose handle another thread of its process closed
            // waits for nothing any more.
            while let Some(receiver) = self.endpoints[endpoint].receivers.pop_front(&mut self.links) {
                self.states[receiver] = IpcState::Idle;
                let _ = woken.push(receiver);
            }
        }
        if freed {
            if let Some(notification) = self.endpoints[endpoint].bound {
                self.notifications[notification].bound = None;
            }
            self.endpoints[endpoint] = Endpoint::FREE;
        }
        woken
    }

    /// `sender` sends (or calls) on `endpoint`. Fails with PEERGONE when no
    /// one holds a RECEIVE handle to it.
    pub fn send(&mut self, sender: usize, endpoint: usize, call: bool) -> Result<SendOutcome, Error> {
        assert_eq!(self.states[sender], IpcState::Idle, "a thread waits for one thing");
        let e = &mut self.endpoints[endpoint];
        if !e.live || e.receive_handles == 0 {
            return Err(Error::PEERGONE);
        }
        match e.receivers.pop_front(&mut self.links) {
            Some(receiver) => Ok(SendOutcome::Rendezvous { receiver }),
            None => {
                e.senders.push_back(&mut self.links, sender);
                self.states[sender] = IpcState::Sending { endpoint, call };
                Ok(SendOutcome::Blocked)
            }
        }
    }

    /// `receiver` waits for a message on `endpoint`. The bits of a bound
    /// notification come first, then queued senders.
    pub fn recv(&mut self, receiver: usize, endpoint: usize) -> RecvOutcome {
        assert_eq!(self.states[receiver], IpcState::Idle, "a thread waits for one thing");
        if let Some(bits) = self.take_bound_bits(endpoint) {
            return RecvOutcome::Signal { bits };
        }
        let e = &mut self.endpoints[endpoint];
        match e.senders.pop_front(&mut self.links) {
            Some(sender) => {
                let IpcState::Sending { call, .. } = self.states[sender] else {
                    unreachable!("thread {sender} queued as a sender without sending");
                };
                RecvOutcome::Rendezvous { sender, call }
            }
            None => {
                e.receivers.push_back(&mut self.links, receiver);
                self.states[receiver] = IpcState::Receiving { endpoint };
                RecvOutcome::Blocked
            }
        }
    }

    /// The kernel could not move the message to a receiver that was taken off
    /// the queue by [`Ipc::send`] (too long for its buffer, no room for a
    /// handle): it goes back to the front and keeps waiting.
    pub fn undo_receive(&mut self, receiver: usize, endpoint: usize) {
        self.endpoints[endpoint].receivers.push_front(&mut self.links, receiver);
        self.states[receiver] = IpcState::Receiving { endpoint };
    }

    /// The kernel refused a sender taken off the queue by [`Ipc::recv`]; it
    /// stops waiting (the kernel returns the error to it).
    pub fn reject_sender(&mut self, sender: usize) {
        self.states[sender] = IpcState::Idle;
    }

    /// The message moved. The receiver is no longer waiting; a caller now
    /// waits for the receiver's reply. Returns a caller that the receiver
    /// still owed a reply to and never answered: it is released, and the
    /// kernel wakes it with PEERGONE.
    pub fn complete(&mut self, sender: usize, receiver: usize, call: bool) -> Option<usize> {
        self.states[receiver] = IpcState::Idle;
        if !call {
            self.states[sender] = IpcState::Idle;
            return None;
        }
        let abandoned = self.take_reply_slot(receiver);
        self.states[sender] = IpcState::AwaitingReply { server: receiver };
        self.replies[receiver] = ReplySlot::Caller(sender);
        abandoned
    }

    /// A receiver about to wait again without having replied drops the
    /// caller it owed a reply to. Returns that caller (to wake with PEERGONE).
    pub fn drop_pending_reply(&mut self, server: usize) -> Option<usize> {
        self.take_reply_slot(server)
    }

    fn take_reply_slot(&mut self, server: usize) -> Option<usize> {
        match core::mem::replace(&mut self.replies[server], ReplySlot::Empty) {
            ReplySlot::Caller(caller) => {
                assert_eq!(
                    self.states[caller],
                    IpcState::AwaitingReply { server },
                    "a reply slot names a caller awaiting that server"
                );
                self.states[caller] = IpcState::Idle;
                Some(caller)
            }
            ReplySlot::Empty | ReplySlot::Gone => None,
        }
    }

    /// `server` replies. Returns the caller to deliver the reply to.
    pub fn reply(&mut self, server: usize) -> Result<usize, Error> {
        // Gone: the caller left (timed out or died) after the message moved.
        let owed = self.replies[server] != ReplySlot::Empty;
        self.take_reply_slot(server)
            .ok_or(if owed { Error::PEERGONE } else { Error::NOREPLY })
    }

    /// `thread` stopped waiting (its timeout expired, or NONBLOCK found no
    /// peer): it leaves the queue it was on; if it was waiting for a reply,
    /// the server's reply now goes nowhere (as if the caller had died).
    pub fn timeout(&mut self, thread: usize) {
        match self.states[thread] {
            IpcState::Sending { endpoint, .. } => self.endpoints[endpoint].senders.remove(&mut self.links, thread),
            IpcState::Receiving { endpoint } => self.endpoints[endpoint].receivers.remove(&mut self.links, thread),
            // The server's slot is cleared only if it names this caller
            // (the pairing `check` proves; a release kernel keeps it too,
            // so a broken pairing can never clear another caller's slot).
            IpcState::AwaitingReply { server } => {
                if self.replies[server] == ReplySlot::Caller(thread) {
                    self.replies[server] = ReplySlot::Gone;
                }
            }
            IpcState::Waiting { notification } => {
                self.notifications[notification].waiters.remove(&mut self.links, thread);
            }
            IpcState::Joining { .. } => self.joining -= 1,
            IpcState::Idle => {}
        }
        self.states[thread] = IpcState::Idle;
    }

    /// Thread `thread` is going away: takes it off any queue and releases
    /// everyone who depends on it. Returns the callers that were waiting for
    /// its reply (to wake with PEERGONE).
    pub fn cancel(&mut self, thread: usize) -> Wakeups<T> {
        match self.states[thread] {
            IpcState::Sending { endpoint, .. } => self.endpoints[endpoint].senders.remove(&mut self.links, thread),
            IpcState::Receiving { endpoint } => self.endpoints[endpoint].receivers.remove(&mut self.links, thread),
            IpcState::Waiting { notification } => {
                self.notifications[notification].waiters.remove(&mut self.links, thread);
            }
            IpcState::Joining { .. } => self.joining -= 1,
            IpcState::AwaitingReply { .. } | IpcState::Idle => {}
        }
        self.states[thread] = IpcState::Idle;
        self.replies[thread] = ReplySlot::Empty;
        let mut woken = Wakeups::new();
        for other in 0..T {
            if self.replies[other] == ReplySlot::Caller(thread) {
                self.replies[other] = ReplySlot::Gone;
            }
            if self.states[other] == (IpcState::AwaitingReply { server: thread }) {
                self.states[other] = IpcState::Idle;
                let _ = woken.push(other);
            }
        }
        woken
    }

    // The IPC fast path's steps (`crate::ipc::fastpath`). They take the
    // state by pointer, not by borrow, because the fast path runs them in
    // two modes: with the kernel to itself (`SHARED` false), and in shared
    // mode, on several CPUs at once, each holding the claim of its CPU and of
    // the endpoint it works on. In shared mode each step touches only the
    // slots of that endpoint and of the two threads it hands between (the
    // one current on the CPU, and the one it found through the endpoint or
    // owes a reply to), which no other CPU reaches then; it takes no
    // step that would touch the links every queue shares (a second waiting
    // receiver: the fast path then declines).

    /// Fast path of `call`: the receiver waiting first on `endpoint`, if it
    /// owes no reply (a receiver that does is left to the slow path, which
    /// releases its abandoned caller); in shared mode, only if it waits
    /// alone.
    ///
    /// # Safety
    /// `this` points at live IPC state; in shared mode the caller holds the
    /// claim of `endpoint` (see above).
    #[inline(always)]
    pub unsafe fn waiting_receiver<const SHARED: bool>(this: *const Self, endpoint: usize) -> Option<usize> {
        // SAFETY: per the contract: reads of the endpoint's slot and of its
        // receiver's.
        unsafe {
            let receivers = &(*this).endpoints[endpoint % E].receivers;
            if SHARED && !receivers.rest.is_empty() {
                return None;
            }
            let receiver = receivers.front()?;
            ((*this).replies[receiver % T] == ReplySlot::Empty).then_some(receiver)
        }
    }

    /// Fast path of `call`: `caller`'s message goes straight to `receiver`,
    /// the one [`Ipc::waiting_receiver`] found. The same state as
    /// [`Ipc::send`] followed by [`Ipc::complete`].
    ///
    /// # Safety
    /// As for [`Ipc::waiting_receiver`], which found `receiver` just before
    /// in the same mode; `caller` is the thread current on this CPU.
    #[inline(always)]
    pub unsafe fn call_handoff<const SHARED: bool>(this: *mut Self, caller: usize, receiver: usize, endpoint: usize) {
        let (caller, receiver, endpoint) = (caller % T, receiver % T, endpoint % E);
        // SAFETY: per the contract: the endpoint's slot and the two threads'
        // (and the shared links only with the state to itself).
        unsafe {
            let receivers = &mut (*this).endpoints[endpoint].receivers;
            let front = if SHARED {
                receivers.take_lone()
            } else {
                receivers.pop_front(&mut (*this).links)
            };
            // The fast path checked both before it committed (the caller is
            // running, so idle; the receiver is the one `waiting_receiver`
            // found): the host tests keep the assertion.
            debug_assert!(
                (*this).states[caller] == IpcState::Idle && front == Some(receiver),
                "the fast path hands off from an idle caller to the first receiver"
            );
            (*this).states[receiver] = IpcState::Idle;
            (*this).states[caller] = IpcState::AwaitingReply { server: receiver };
            (*this).replies[receiver] = ReplySlot::Caller(caller);
        }
    }

    /// Fast path of `reply_recv`: the caller `server` owes a reply to.
    ///
    /// # Safety
    /// `this` points at live IPC state; `server` is the thread current on
    /// this CPU.
    #[inline(always)]
    pub unsafe fn pending_caller(this: *const Self, server: usize) -> Option<usize> {
        // SAFETY: per the contract: a read of the server's slot.
        match unsafe { (*this).replies[server % T] } {
            ReplySlot::Caller(caller) => Some(caller),
            ReplySlot::Empty | ReplySlot::Gone => None,
        }
    }

    /// Fast path of `reply_recv`: whether `server` would wait on `endpoint`
    /// with one store. No sender is queued and no bound notification has
    /// bits (a receive would not wait then); in shared mode, no other
    /// receiver waits either (the server would join a list).
    ///
    /// # Safety
    /// As for [`Ipc::waiting_receiver`].
    #[inline(always)]
    pub unsafe fn would_wait<const SHARED: bool>(this: *const Self, endpoint: usize) -> bool {
        // SAFETY: per the contract: reads of the endpoint's slot and of the
        // notification bound to it (which only the kernel, to itself,
        // changes).
        unsafe {
            let e = &(*this).endpoints[endpoint % E];
            e.senders.is_empty()
                && e.bound.is_none_or(|n| (*this).notifications[n % N].bits == 0)
                && (!SHARED || e.receivers.is_empty())
        }
    }

    /// Whether a receive on `endpoint` would not wait: a sender is queued,
    /// or a bound notification has bits.
    pub fn has_sender(&self, endpoint: usize) -> bool {
        // SAFETY: `self` is borrowed.
        !unsafe { Self::would_wait::<false>(self, endpoint) }
    }

    /// Fast path of `reply_recv` when [`Ipc::would_wait`]: `server` answers
    /// `caller` and waits on `endpoint`. The same state as [`Ipc::reply`]
    /// followed by [`Ipc::recv`] finding the queue empty.
    ///
    /// # Safety
    /// As for [`Ipc::would_wait`], which said yes just before in the same
    /// mode; `caller` is the one [`Ipc::pending_caller`] named.
    #[inline(always)]
    pub unsafe fn reply_and_wait<const SHARED: bool>(this: *mut Self, server: usize, caller: usize, endpoint: usize) {
        let (server, caller, endpoint) = (server % T, caller % T, endpoint % E);
        // SAFETY: per the contract: the endpoint's slot and the two threads'
        // (and the shared links only with the state to itself).
        unsafe {
            // `pending_caller` found the caller in the reply slot, and a
            // reply slot and its caller's state always agree (`Ipc::check`):
            // the host tests keep the assertion.
            debug_assert!(
                (*this).replies[server] == ReplySlot::Caller(caller)
                    && (*this).states[caller] == (IpcState::AwaitingReply { server }),
                "the fast path replies to the caller the server owes"
            );
            (*this).replies[server] = ReplySlot::Empty;
            (*this).states[caller] = IpcState::Idle;
            let receivers = &mut (*this).endpoints[endpoint].receivers;
            if SHARED {
                receivers.park(server);
            } else {
                receivers.push_back(&mut (*this).links, server);
            }
            (*this).states[server] = IpcState::Receiving { endpoint };
        }
    }

    /// What `thread` waits for.
    pub fn state(&self, thread: usize) -> IpcState {
        self.states[thread]
    }

    /// Whom `thread` owes a reply.
    pub fn reply_slot(&self, thread: usize) -> ReplySlot {
        self.replies[thread]
    }

    /// Who pays for `thread`'s running: the caller it owes a reply (a
    /// server works on its caller's behalf), or itself.
    #[inline(always)]
    pub fn payer_of(&self, thread: usize) -> usize {
        // SAFETY: `self` is borrowed.
        unsafe { Self::payer_of_shared(self, thread) }
    }

    /// [`Ipc::payer_of`] without borrowing the state.
    ///
    /// # Safety
    /// `this` points at live IPC state, and no other CPU changes `thread`'s
    /// reply slot meanwhile (it is current on this CPU, or the state is
    /// borrowed).
    #[inline(always)]
    pub unsafe fn payer_of_shared(this: *const Self, thread: usize) -> usize {
        // SAFETY: per the contract: a read of one slot.
        match unsafe { (*this).replies[thread % T] } {
            ReplySlot::Caller(caller) => caller,
            ReplySlot::Empty | ReplySlot::Gone => thread,
        }
    }

    /// Whether `endpoint` has a thread waiting to receive.
    pub fn has_receiver(&self, endpoint: usize) -> bool {
        !self.endpoints[endpoint].receivers.is_empty()
    }

    /// Whether anyone can receive on `endpoint` now or later.
    pub fn can_receive(&self, endpoint: usize) -> bool {
        let e = &self.endpoints[endpoint];
        e.live && e.receive_handles > 0
    }

    /// Whether `endpoint` is a live endpoint.
    pub fn is_live(&self, endpoint: usize) -> bool {
        self.endpoints.get(endpoint).is_some_and(|e| e.live)
    }

    /// The open handles naming `endpoint` (with the RECEIVE right, and in
    /// all).
    pub fn handle_counts(&self, endpoint: usize) -> (u32, u32) {
        let e = &self.endpoints[endpoint];
        (e.receive_handles, e.handles)
    }

    /// Checks the invariants between threads, queues and reply slots: a
    /// thread is on an endpoint's queue exactly when its state says so; a
    /// reply slot names a caller exactly when that caller awaits that
    /// server's reply; no free endpoint has waiters or handles. Returns the
    /// first broken one.
    pub fn check(&self) -> Result<(), &'static str> {
        let joining = self
            .states
            .iter()
            .filter(|state| matches!(state, IpcState::Joining { .. }))
            .count();
        if joining != self.joining {
            return Err("the count of joining threads is theirs");
        }
        let mut queued = [0usize; T];
        for (index, e) in self.endpoints.iter().enumerate() {
            if !e.live {
                if e.handles != 0 || !e.senders.is_empty() || !e.receivers.is_empty() {
                    return Err("a free endpoint has handles or waiters");
                }
                continue;
            }
            if e.receive_handles > e.handles {
                return Err("more RECEIVE handles than handles");
            }
            for sender in e.senders.iter(&self.links) {
                queued[sender] += 1;
                if !matches!(self.states[sender], IpcState::Sending { endpoint, .. } if endpoint == index) {
                    return Err("a queued sender is not sending on that endpoint");
                }
            }
            for receiver in e.receivers.iter(&self.links) {
                queued[receiver] += 1;
                if self.states[receiver] != (IpcState::Receiving { endpoint: index }) {
                    return Err("a queued receiver is not receiving on that endpoint");
                }
            }
        }
        for (index, e) in self.endpoints.iter().enumerate().filter(|(_, e)| e.live) {
            if let Some(n) = e.bound
                && (!self.notifications[n].live || self.notifications[n].bound != Some(index))
            {
                return Err("an endpoint is bound to a live notification bound to it");
            }
        }
        self.check_notifications(&mut queued)?;
        for (thread, &count) in queued.iter().enumerate() {
            let waits_in_queue = matches!(
                self.states[thread],
                IpcState::Sending { .. } | IpcState::Receiving { .. } | IpcState::Waiting { .. }
            );
            if count != usize::from(waits_in_queue) {
                return Err("a thread is on a queue exactly when it sends or receives");
            }
            if let IpcState::AwaitingReply { server } = self.states[thread]
                && self.replies[server] != ReplySlot::Caller(thread)
            {
                return Err("an awaited server does not hold the caller in its reply slot");
            }
            if let ReplySlot::Caller(caller) = self.replies[thread]
                && self.states[caller] != (IpcState::AwaitingReply { server: thread })
            {
                return Err("a reply slot names a caller that does not await it");
            }
        }
        Ok(())
    }
}

impl<const T: usize, const E: usize, const N: usize> Default for Ipc<T, E, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IpcState::*;

    type Small = Ipc<8, 4, 4>;

    /// An endpoint with one server (RECEIVE) and one client (SEND) handle.
    fn setup() -> (Small, usize) {
        let mut ipc = Small::new();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::RECEIVE);
        ipc.handle_opened(ep, Rights::SEND);
        (ipc, ep)
    }

    #[test]
    fn receiver_first_then_call_then_reply() {
        let (mut ipc, ep) = setup();
        let (server, client) = (1, 2);
        assert_eq!(ipc.recv(server, ep), RecvOutcome::Blocked);
        assert_eq!(ipc.state(server), Receiving { endpoint: ep });
        assert_eq!(
            ipc.send(client, ep, true),
            Ok(SendOutcome::Rendezvous { receiver: server })
        );
        assert_eq!(ipc.complete(client, server, true), None);
        assert_eq!(ipc.state(server), Idle);
        assert_eq!(ipc.state(client), AwaitingReply { server });
        assert_eq!(ipc.reply_slot(server), ReplySlot::Caller(client));
        assert_eq!(ipc.reply(server), Ok(client));
        assert_eq!(ipc.state(client), Idle);
        assert_eq!(ipc.reply(server), Err(Error::NOREPLY));
    }

    #[test]
    fn senders_queue_in_order_until_received() {
        let (mut ipc, ep) = setup();
        assert_eq!(ipc.send(3, ep, false), Ok(SendOutcome::Blocked));
        assert_eq!(ipc.send(4, ep, true), Ok(SendOutcome::Blocked));
        assert_eq!(
            ipc.state(3),
            Sending {
                endpoint: ep,
                call: false
            }
        );
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 3, call: false });
        assert_eq!(ipc.complete(3, 1, false), None);
        assert_eq!(ipc.state(3), Idle);
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 4, call: true });
        ipc.complete(4, 1, true);
        assert_eq!(ipc.state(4), AwaitingReply { server: 1 });
    }

    #[test]
    fn refused_transfers_leave_the_other_side_waiting() {
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.recv(2, ep);
        assert_eq!(ipc.send(5, ep, true), Ok(SendOutcome::Rendezvous { receiver: 1 }));
        ipc.undo_receive(1, ep);
        assert_eq!(ipc.state(1), Receiving { endpoint: ep });
        // The refused receiver keeps its place at the front.
        assert_eq!(ipc.send(6, ep, false), Ok(SendOutcome::Rendezvous { receiver: 1 }));

        let (mut ipc, ep) = setup();
        ipc.send(5, ep, true).unwrap();
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 5, call: true });
        ipc.reject_sender(5);
        assert_eq!(ipc.state(5), Idle);
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Blocked);
    }

    #[test]
    fn send_without_any_receiver_handle_is_peer_gone() {
        let mut ipc = Small::new();
        let ep = ipc.create_endpoint().unwrap();
        ipc.handle_opened(ep, Rights::SEND);
        assert_eq!(ipc.send(1, ep, true), Err(Error::PEERGONE));
        assert_eq!(ipc.state(1), Idle);
    }

    #[test]
    fn losing_the_last_receive_handle_wakes_queued_senders() {
        let (mut ipc, ep) = setup();
        ipc.send(3, ep, true).unwrap();
        ipc.send(4, ep, false).unwrap();
        let woken = ipc.handle_closed(ep, Rights::RECEIVE);
        assert_eq!(woken.as_slice(), &[3, 4]);
        assert_eq!(ipc.state(3), Idle);
        assert!(!ipc.can_receive(ep));
        assert_eq!(ipc.send(3, ep, true), Err(Error::PEERGONE));
        assert!(ipc.handle_closed(ep, Rights::SEND).is_empty());
        assert_eq!(ipc.endpoint_count(), 0);
    }

    #[test]
    fn a_dying_server_releases_its_callers_and_a_dying_caller_is_gone() {
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.send(2, ep, true).unwrap();
        ipc.complete(2, 1, true);
        // Another caller waits in the queue.
        ipc.send(3, ep, true).unwrap();
        let woken = ipc.cancel(1);
        assert_eq!(woken.as_slice(), &[2]);
        assert_eq!(ipc.state(2), Idle);
        assert_eq!(
            ipc.state(3),
            Sending {
                endpoint: ep,
                call: true
            }
        );

        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.send(2, ep, true).unwrap();
        ipc.complete(2, 1, true);
        assert!(ipc.cancel(2).is_empty());
        assert_eq!(ipc.reply_slot(1), ReplySlot::Gone);
        assert_eq!(ipc.reply(1), Err(Error::PEERGONE));
        assert_eq!(ipc.reply(1), Err(Error::NOREPLY));
    }

    #[test]
    fn cancel_removes_a_queued_thread() {
        let (mut ipc, ep) = setup();
        ipc.send(2, ep, false).unwrap();
        ipc.send(3, ep, false).unwrap();
        ipc.cancel(2);
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 3, call: false });
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.cancel(1);
        assert!(!ipc.has_receiver(ep));
    }

    #[test]
    fn a_server_that_receives_again_without_replying_releases_the_caller() {
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.send(2, ep, true).unwrap();
        ipc.complete(2, 1, true);
        assert_eq!(ipc.drop_pending_reply(1), Some(2));
        assert_eq!(ipc.state(2), Idle);
        assert_eq!(ipc.drop_pending_reply(1), None);
        // The same through a second call arriving before the reply.
        ipc.send(3, ep, true).unwrap();
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 3, call: true });
        ipc.complete(3, 1, true);
        ipc.send(4, ep, true).unwrap();
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 4, call: true });
        assert_eq!(ipc.complete(4, 1, true), Some(3));
    }

    #[test]
    fn a_server_that_calls_another_keeps_the_reply_it_owes() {
        let (mut ipc, front) = setup();
        let back = ipc.create_endpoint().unwrap();
        ipc.handle_opened(back, Rights::RECEIVE);
        ipc.handle_opened(back, Rights::SEND);
        let (client, server, backend) = (1, 2, 3);
        // The client calls the server, which calls the backend on its behalf.
        ipc.recv(server, front);
        ipc.send(client, front, true).unwrap();
        assert_eq!(ipc.complete(client, server, true), None);
        ipc.recv(backend, back);
        assert_eq!(
            ipc.send(server, back, true),
            Ok(SendOutcome::Rendezvous { receiver: backend })
        );
        assert_eq!(ipc.complete(server, backend, true), None);
        assert_eq!(ipc.state(client), AwaitingReply { server });
        // The backend answers the server, and the server its client.
        assert_eq!(ipc.reply(backend), Ok(server));
        assert_eq!(ipc.reply(server), Ok(client));
        assert_eq!(ipc.state(client), Idle);
    }

    #[test]
    fn timeouts_leave_queues_and_orphan_replies() {
        let (mut ipc, ep) = setup();
        ipc.send(2, ep, true).unwrap();
        ipc.send(3, ep, false).unwrap();
        ipc.timeout(2);
        assert_eq!(ipc.state(2), Idle);
        assert_eq!(ipc.recv(1, ep), RecvOutcome::Rendezvous { sender: 3, call: false });
        ipc.complete(3, 1, false);

        // A caller whose reply wait times out: the server's reply is refused.
        ipc.recv(1, ep);
        ipc.send(4, ep, true).unwrap();
        ipc.complete(4, 1, true);
        ipc.timeout(4);
        assert_eq!(ipc.state(4), Idle);
        assert_eq!(ipc.reply(1), Err(Error::PEERGONE));

        // A receiver that gives up no longer takes messages.
        ipc.recv(5, ep);
        ipc.timeout(5);
        assert_eq!(ipc.send(6, ep, false), Ok(SendOutcome::Blocked));
    }

    /// The reply slot's pairing on timeout is a checked condition, not a
    /// `debug_assert` (issue 16): a caller whose wait ends clears the
    /// server's slot only if the slot names it, in release builds too.
    #[test]
    fn a_timeout_clears_only_the_reply_slot_that_names_its_caller() {
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.send(2, ep, true).unwrap();
        ipc.complete(2, 1, true);
        // A broken pairing no syscall makes: thread 3 claims to await the
        // reply that server 1 owes thread 2.
        ipc.states[3] = AwaitingReply { server: 1 };
        ipc.timeout(3);
        assert_eq!(ipc.state(3), Idle);
        assert_eq!(ipc.reply_slot(1), ReplySlot::Caller(2));
        assert_eq!(ipc.reply(1), Ok(2));
        assert_eq!(ipc.state(2), Idle);
    }

    /// The fast path's steps, in the mode `SHARED` says, on `ipc`.
    fn fast_call<const SHARED: bool>(ipc: &mut Small, client: usize, ep: usize) -> Option<usize> {
        // SAFETY: `ipc` is borrowed whole.
        unsafe {
            let server = Small::waiting_receiver::<SHARED>(ipc, ep)?;
            Small::call_handoff::<SHARED>(ipc, client, server, ep);
            Some(server)
        }
    }

    fn fast_reply<const SHARED: bool>(ipc: &mut Small, server: usize, ep: usize) -> Option<usize> {
        // SAFETY: `ipc` is borrowed whole.
        unsafe {
            let caller = Small::pending_caller(ipc, server)?;
            if !Small::would_wait::<SHARED>(ipc, ep) {
                return None;
            }
            Small::reply_and_wait::<SHARED>(ipc, server, caller, ep);
            Some(caller)
        }
    }

    /// The fast path's steps, in both modes, leave exactly the state of
    /// the slow sequence.
    #[test]
    fn fast_path_steps_match_the_slow_path() {
        #[derive(Clone, Copy)]
        enum Path {
            Slow,
            Exclusive,
            Shared,
        }
        let run = |path: Path| {
            let (mut ipc, ep) = setup();
            let (server, client) = (1, 2);
            assert_eq!(ipc.recv(server, ep), RecvOutcome::Blocked);
            match path {
                Path::Slow => {
                    assert_eq!(
                        ipc.send(client, ep, true),
                        Ok(SendOutcome::Rendezvous { receiver: server })
                    );
                    ipc.complete(client, server, true);
                }
                Path::Exclusive => assert_eq!(fast_call::<false>(&mut ipc, client, ep), Some(server)),
                Path::Shared => assert_eq!(fast_call::<true>(&mut ipc, client, ep), Some(server)),
            }
            let after_call = (
                ipc.state(server),
                ipc.state(client),
                ipc.reply_slot(server),
                ipc.has_receiver(ep),
            );
            match path {
                Path::Slow => {
                    assert_eq!(ipc.reply(server), Ok(client));
                    assert_eq!(ipc.recv(server, ep), RecvOutcome::Blocked);
                }
                Path::Exclusive => assert_eq!(fast_reply::<false>(&mut ipc, server, ep), Some(client)),
                Path::Shared => assert_eq!(fast_reply::<true>(&mut ipc, server, ep), Some(client)),
            }
            let after_reply = (
                ipc.state(server),
                ipc.state(client),
                ipc.reply_slot(server),
                ipc.has_receiver(ep),
            );
            (after_call, after_reply, ipc)
        };
        let (slow, exclusive, shared) = (run(Path::Slow), run(Path::Exclusive), run(Path::Shared));
        assert_eq!(exclusive, slow);
        assert_eq!(shared, slow);
    }

    #[test]
    fn fast_path_declines_a_receiver_that_owes_a_reply() {
        let (mut ipc, ep) = setup();
        ipc.recv(1, ep);
        ipc.send(2, ep, true).unwrap();
        ipc.complete(2, 1, true);
        // The server waits again without replying (the slow path would
        // release caller 2 when it does).
        ipc.states[1] = IpcState::Idle;
        ipc.endpoints[ep].receivers.push_back(&mut ipc.links, 1);
        ipc.states[1] = IpcState::Receiving { endpoint: ep };
        let before = ipc.clone();
        assert_eq!(fast_call::<false>(&mut ipc, 3, ep), None);
        assert_eq!(fast_call::<true>(&mut ipc, 3, ep), None);
        assert_eq!(ipc, before);
        // SAFETY: `ipc` is borrowed whole.
        assert_eq!(unsafe { Small::pending_caller(&ipc, 1) }, Some(2));
    }

    /// In shared mode the fast path touches no links: it declines a call
    /// when a second receiver waits, and a reply whose server would wait
    /// behind another; with the kernel to itself it takes both.
    #[test]
    fn shared_mode_declines_what_would_touch_a_list() {
        let (mut ipc, ep) = setup();
        let (first, second, client) = (1, 3, 2);
        assert_eq!(ipc.recv(first, ep), RecvOutcome::Blocked);
        assert_eq!(ipc.recv(second, ep), RecvOutcome::Blocked);
        let before = ipc.clone();
        assert_eq!(fast_call::<true>(&mut ipc, client, ep), None);
        assert_eq!(ipc, before);
        assert_eq!(fast_call::<false>(&mut ipc, client, ep), Some(first));
        // `first` owes `client` a reply, and `second` waits on the endpoint:
        // replying and waiting would queue `first` behind it.
        let before = ipc.clone();
        assert_eq!(fast_reply::<true>(&mut ipc, first, ep), None);
        assert_eq!(ipc, before);
        assert_eq!(fast_reply::<false>(&mut ipc, first, ep), Some(client));
        assert_eq!(ipc.check(), Ok(()));
    }

    #[test]
    fn endpoint_table_fills_and_frees() {
        let mut ipc = Small::new();
        for _ in 0..4 {
            let ep = ipc.create_endpoint().unwrap();
            ipc.handle_opened(ep, Rights::SEND);
        }
        assert_eq!(ipc.create_endpoint(), Err(Error::TABLEFULL));
        ipc.handle_closed(2, Rights::SEND);
        assert_eq!(ipc.create_endpoint(), Ok(2));
    }
}
