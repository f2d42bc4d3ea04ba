//! The scheduler: every thread's run state, and every change of it.
//!
//! A thread slot is `Free`, `Ready` (on a run queue), `Running` (the current
//! thread, on no queue), `Blocked` (waiting in IPC, perhaps until a
//! deadline) or a `Zombie` (its process is gone; it waits only to deliver
//! the exit notice). Only the methods of [`Scheduler`] move a thread between
//! these states, so the queues and the states cannot disagree:
//! [`Scheduler::check`] verifies it, and the host tests call it after every
//! step.
//!
//! Policy: strict priorities (0 to 7), round-robin within a priority. The
//! time slice belongs to the thread: a tick charges only the running thread;
//! a thread preempted by a higher priority goes back to the *front* of its
//! queue with what is left of its slice; only when the slice runs out (or the
//! thread yields) does it get a full one again, at the back. A thread woken
//! by a message or reply goes to the front of its priority (its partner
//! usually waits for it now); one woken by a timeout or an error, to the back.

use crate::config::TIME_SLICE_TICKS;
use crate::runqueue::RunQueues;

/// What a thread is doing, for the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Slot unused.
    Free,
    /// The current thread.
    Running,
    /// On a run queue.
    Ready,
    /// Waiting in IPC.
    Blocked,
    /// Its process is gone; it waits only to deliver the exit or fault
    /// notice, then the slot is freed.
    Zombie,
}

/// The scheduling fields of one thread slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    state: RunState,
    priority: u8,
    /// Timer ticks left of its time slice.
    slice_left: u8,
    /// Tick at which its wait ends with ETIMEDOUT; 0: no deadline.
    deadline: u64,
}

impl Run {
    const FREE: Run = Run {
        state: RunState::Free,
        priority: 0,
        slice_left: 0,
        deadline: 0,
    };
}

/// What runs next, as [`Scheduler::pick`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The current thread goes on.
    Same(usize),
    /// `to` becomes current; `from` was current before (if any).
    Switch {
        /// The thread that was current.
        from: Option<usize>,
        /// The thread that runs now.
        to: usize,
    },
    /// Nothing can run now, but a timed wait will end: idle until the timer.
    /// `released` is the thread that was current (and no longer is).
    Idle {
        /// The thread that was current until now, if any.
        released: Option<usize>,
    },
    /// Nothing can run and no timed wait will end: unless an interrupt may
    /// still wake someone, the system is done. No thread is current;
    /// `released` was, until now.
    Quiescent {
        /// The thread that was current until now, if any.
        released: Option<usize>,
    },
}

/// The run state of `N` thread slots and the ready queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduler<const N: usize> {
    runs: [Run; N],
    queues: RunQueues<N>,
    current: Option<usize>,
    /// Set by `yield` and by the end of a time slice: the current thread
    /// goes to the back of its queue with a full slice at the next pick.
    yield_requested: bool,
}

impl<const N: usize> Scheduler<N> {
    /// Every slot free, nothing running.
    pub const fn new() -> Self {
        Scheduler {
            runs: [Run::FREE; N],
            queues: RunQueues::new(),
            current: None,
            yield_requested: false,
        }
    }

    /// The run state of `thread`.
    #[inline(always)]
    pub fn state(&self, thread: usize) -> RunState {
        self.runs[thread % N].state
    }

    /// The priority of `thread`.
    #[inline(always)]
    pub fn priority(&self, thread: usize) -> u8 {
        self.runs[thread % N].priority
    }

    /// The tick at which `thread`'s wait times out (0: none).
    pub fn deadline(&self, thread: usize) -> u64 {
        self.runs[thread].deadline
    }

    /// Ticks left of `thread`'s time slice.
    pub fn slice_left(&self, thread: usize) -> u8 {
        self.runs[thread].slice_left
    }

    /// The thread running on the CPU, if any.
    #[inline(always)]
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// Whether a thread readier than `priority` waits: a thread of that
    /// priority that would run now must instead let it go first.
    #[inline(always)]
    pub fn outranked(&self, priority: u8) -> bool {
        self.queues.highest().is_some_and(|ready| ready > priority)
    }

    /// A free thread slot.
    pub fn free_slot(&self) -> Option<usize> {
        self.runs.iter().position(|run| run.state == RunState::Free)
    }

    /// Slots in use (any state but `Free`).
    pub fn live_count(&self) -> usize {
        self.runs.iter().filter(|run| run.state != RunState::Free).count()
    }

    /// Whether some blocked thread has a deadline.
    pub fn has_timed_waits(&self) -> bool {
        self.runs
            .iter()
            .any(|run| run.state == RunState::Blocked && run.deadline != 0)
    }

    /// A new thread in the free slot `thread`: ready, at the back of its
    /// priority, with a full slice.
    pub fn start(&mut self, thread: usize, priority: u8) {
        assert_eq!(self.runs[thread].state, RunState::Free, "starting a used slot");
        self.runs[thread] = Run {
            state: RunState::Ready,
            priority,
            slice_left: TIME_SLICE_TICKS,
            deadline: 0,
        };
        self.queues.push_back(thread, priority);
    }

    /// The current thread waits (in IPC) until woken, or until tick
    /// `deadline` (0: no deadline). It stays current until the next pick.
    #[inline(always)]
    pub fn block(&mut self, thread: usize, deadline: u64) {
        debug_assert_eq!(self.current, Some(thread));
        let run = &mut self.runs[thread % N];
        assert_eq!(run.state, RunState::Running, "only the running thread blocks");
        run.state = RunState::Blocked;
        run.deadline = deadline;
    }

    /// Ends `thread`'s wait: ready at the back of its priority.
    pub fn wake(&mut self, thread: usize) {
        let priority = self.unblock(thread);
        self.queues.push_back(thread, priority);
    }

    /// Ends `thread`'s wait: ready at the front of its priority, so that it
    /// runs next among its equals (it just received a message or a reply,
    /// and its partner waits for it).
    pub fn wake_first(&mut self, thread: usize) {
        let priority = self.unblock(thread);
        self.queues.push_front(thread, priority);
    }

    fn unblock(&mut self, thread: usize) -> u8 {
        let run = &mut self.runs[thread];
        assert_eq!(
            run.state,
            RunState::Blocked,
            "waking thread {thread} that does not wait"
        );
        run.state = RunState::Ready;
        run.deadline = 0;
        run.priority
    }

    /// `thread`'s process ended: it runs no more, whatever it was doing.
    /// Returns whether it was the current thread (then no thread is current).
    pub fn end(&mut self, thread: usize) -> bool {
        let run = &mut self.runs[thread];
        assert!(
            !matches!(run.state, RunState::Free | RunState::Zombie),
            "ending thread {thread} twice"
        );
        self.queues.remove(thread);
        run.state = RunState::Zombie;
        run.deadline = 0;
        let was_current = self.current == Some(thread);
        if was_current {
            self.current = None;
        }
        was_current
    }

    /// Frees the slot of a zombie whose notice is delivered.
    pub fn free(&mut self, thread: usize) {
        assert_eq!(self.runs[thread].state, RunState::Zombie, "freeing a live thread");
        self.runs[thread] = Run::FREE;
    }

    /// The current thread gives up the rest of its slice at the next pick.
    pub fn request_yield(&mut self) {
        self.yield_requested = true;
    }

    /// A timer tick: the running thread used one tick of its slice; when the
    /// slice is gone, it yields at the next pick.
    pub fn charge_tick(&mut self) {
        if let Some(current) = self.current.filter(|&t| self.runs[t].state == RunState::Running) {
            let run = &mut self.runs[current];
            run.slice_left = run.slice_left.saturating_sub(1);
            if run.slice_left == 0 {
                self.yield_requested = true;
            }
        }
    }

    /// The blocked threads whose deadline is `now` or earlier, in slot
    /// order. They are still blocked: the caller ends their waits (in IPC)
    /// and wakes them.
    pub fn expired(&self, now: u64) -> impl Iterator<Item = usize> + '_ {
        (0..N).filter(move |&t| {
            let run = &self.runs[t];
            run.state == RunState::Blocked && run.deadline != 0 && run.deadline <= now
        })
    }

    /// Decides what runs next and makes it current.
    #[inline(always)]
    pub fn pick(&mut self) -> Pick {
        let yielded = core::mem::take(&mut self.yield_requested);
        let next = match self.current {
            Some(current) if self.runs[current % N].state == RunState::Running => {
                let run = &mut self.runs[current % N];
                let priority = run.priority;
                if yielded {
                    run.state = RunState::Ready;
                    run.slice_left = TIME_SLICE_TICKS;
                    self.queues.push_back(current, priority);
                    self.queues.pop().expect("the current thread was just queued")
                } else if self.queues.highest().is_some_and(|ready| ready > priority) {
                    run.state = RunState::Ready;
                    self.queues.push_front(current, priority);
                    self.queues.pop().expect("a higher priority is ready")
                } else {
                    return Pick::Same(current);
                }
            }
            _ => match self.queues.pop() {
                Some(next) => next,
                None => return self.nothing_ready(),
            },
        };
        self.runs[next % N].state = RunState::Running;
        let from = self.current.replace(next);
        if from == Some(next) {
            Pick::Same(next)
        } else {
            Pick::Switch { from, to: next }
        }
    }

    /// [`Scheduler::pick`] when no thread is ready: idle until a deadline,
    /// or nothing will ever run again. Either way no thread is current.
    #[cold]
    #[inline(never)]
    fn nothing_ready(&mut self) -> Pick {
        let released = self.current.take();
        if self.has_timed_waits() {
            Pick::Idle { released }
        } else {
            Pick::Quiescent { released }
        }
    }

    /// The IPC fast path's direct switch: the current thread `from` waits
    /// (with no deadline) and `to`, which waited, runs at once without
    /// passing through a queue. Both keep what is left of their slices.
    /// The same state as [`Scheduler::block`], [`Scheduler::wake_first`]
    /// and a [`Scheduler::pick`] that finds `to` first.
    #[inline(always)]
    pub fn hand_off(&mut self, from: usize, to: usize) {
        debug_assert_eq!(self.current, Some(from));
        debug_assert_eq!(self.runs[to % N].state, RunState::Blocked);
        let run = &mut self.runs[from % N];
        run.state = RunState::Blocked;
        run.deadline = 0;
        let run = &mut self.runs[to % N];
        run.state = RunState::Running;
        run.deadline = 0;
        self.current = Some(to);
    }

    /// Checks that the states and the queues agree: a thread is queued
    /// exactly when it is `Ready`, at its own priority; at most the current
    /// thread is `Running`. Returns the first disagreement.
    pub fn check(&self) -> Result<(), &'static str> {
        for (thread, run) in self.runs.iter().enumerate() {
            let queued = self.queues.is_queued(thread);
            if queued != (run.state == RunState::Ready) {
                return Err("a thread is queued exactly when it is ready");
            }
            if queued && self.queues.queued_priority(thread) != run.priority {
                return Err("a ready thread is queued at its own priority");
            }
            if run.state == RunState::Running && self.current != Some(thread) {
                return Err("only the current thread runs");
            }
            if run.deadline != 0 && run.state != RunState::Blocked {
                return Err("only a blocked thread has a deadline");
            }
        }
        if let Some(current) = self.current
            && matches!(self.runs[current].state, RunState::Free | RunState::Ready)
        {
            return Err("the current thread is free or queued");
        }
        Ok(())
    }
}

impl<const N: usize> Default for Scheduler<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_first(sched: &mut Scheduler<8>) -> usize {
        match sched.pick() {
            Pick::Switch { to, .. } | Pick::Same(to) => to,
            other => panic!("nothing runs: {other:?}"),
        }
    }

    #[test]
    fn priorities_are_strict_and_equals_take_turns() {
        let mut sched = Scheduler::<8>::new();
        sched.start(1, 2);
        sched.start(2, 5);
        sched.start(3, 2);
        assert_eq!(sched.pick(), Pick::Switch { from: None, to: 2 });
        sched.block(2, 0);
        assert_eq!(sched.pick(), Pick::Switch { from: Some(2), to: 1 });
        // 1's slice runs out: 3 goes next, 1 after it.
        for _ in 0..TIME_SLICE_TICKS {
            sched.charge_tick();
        }
        assert_eq!(sched.pick(), Pick::Switch { from: Some(1), to: 3 });
        assert_eq!(sched.state(1), RunState::Ready);
        sched.check().unwrap();
    }

    #[test]
    fn a_preempted_thread_keeps_its_slice_and_its_place() {
        let mut sched = Scheduler::<8>::new();
        sched.start(1, 2);
        sched.start(2, 2);
        sched.start(3, 6);
        sched.block_after_start(3);
        assert_eq!(run_first(&mut sched), 1);
        sched.charge_tick();
        // The high-priority thread wakes: 1 goes back to the front.
        sched.wake(3);
        assert_eq!(sched.pick(), Pick::Switch { from: Some(1), to: 3 });
        sched.block(3, 0);
        assert_eq!(run_first(&mut sched), 1);
        assert_eq!(sched.slice_left(1), TIME_SLICE_TICKS - 1);
        sched.check().unwrap();
    }

    #[test]
    fn deadlines_expire_and_idle_waits_for_them() {
        let mut sched = Scheduler::<8>::new();
        sched.start(4, 1);
        assert_eq!(run_first(&mut sched), 4);
        sched.block(4, 10);
        assert!(sched.has_timed_waits());
        assert_eq!(sched.pick(), Pick::Idle { released: Some(4) });
        assert_eq!(sched.expired(9).count(), 0);
        assert_eq!(sched.expired(10).collect::<Vec<_>>(), [4]);
        sched.wake(4);
        assert_eq!(sched.deadline(4), 0);
        assert_eq!(sched.pick(), Pick::Switch { from: None, to: 4 });
        sched.block(4, 0);
        assert_eq!(sched.pick(), Pick::Quiescent { released: Some(4) });
        sched.check().unwrap();
    }

    #[test]
    fn ending_and_freeing() {
        let mut sched = Scheduler::<8>::new();
        sched.start(0, 3);
        sched.start(1, 3);
        assert_eq!(run_first(&mut sched), 0);
        assert!(sched.end(0));
        assert!(!sched.end(1));
        assert_eq!(sched.current(), None);
        assert_eq!(sched.pick(), Pick::Quiescent { released: None });
        sched.free(0);
        assert_eq!(sched.free_slot(), Some(0));
        assert_eq!(sched.live_count(), 1);
        sched.check().unwrap();
    }

    #[test]
    fn hand_off_is_block_wake_first_and_pick() {
        let setup = || {
            let mut sched = Scheduler::<8>::new();
            sched.start(1, 4);
            sched.start(2, 4);
            sched.start(3, 4);
            sched.block_after_start(2);
            assert_eq!(run_first(&mut sched), 1);
            sched
        };
        let mut fast = setup();
        fast.hand_off(1, 2);
        let mut slow = setup();
        slow.block(1, 0);
        slow.wake_first(2);
        assert_eq!(slow.pick(), Pick::Switch { from: Some(1), to: 2 });
        assert_eq!(fast, slow);
        fast.check().unwrap();
    }

    impl<const N: usize> Scheduler<N> {
        /// Test set-up: `thread` ran and blocked (without a pick between).
        fn block_after_start(&mut self, thread: usize) {
            self.queues.remove(thread);
            self.runs[thread].state = RunState::Blocked;
        }
    }
}
