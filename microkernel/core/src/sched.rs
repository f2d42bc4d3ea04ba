//! The scheduler: every thread's run state, every change of it, and the
//! CPU time each thread uses.
//!
//! A thread slot is `Free`, `Ready` (on a run queue), `Running` (current on
//! one CPU, on no queue), `Blocked` (waiting in IPC, perhaps until a
//! deadline) or a `Zombie` (its process is gone; it waits only to deliver
//! the exit notice). Only the methods of [`Scheduler`] move a thread between
//! these states, so the queues and the states cannot disagree:
//! [`Scheduler::check`] verifies it, and the host tests call it after every
//! step.
//!
//! Every CPU has its own current thread; the ready queues are shared. The
//! kernel tells the scheduler which CPU it runs on, and what the clock says,
//! at every entry ([`Scheduler::enter`]); the methods that speak of "the
//! current thread" mean that CPU's.
//!
//! Policy: strict priorities (0 to 7), system-wide: a CPU always runs the
//! highest-priority ready thread it may run (its affinity), and when a
//! thread becomes ready that outranks what another CPU runs, or another CPU
//! idles, [`Scheduler::kicks`] names that CPU so the kernel interrupts it
//! (the bound: one inter-processor interrupt). Round-robin within a
//! priority. A thread preempted by a higher priority goes back to the
//! *front* of its queue with what is left of its slice; only when the slice
//! runs out (or the thread yields) does it get a full one again, at the
//! back. A thread woken by a message or reply goes to the front of its
//! priority if it has slice left (its partner usually waits for it now), to
//! the back with a new slice if not; one woken by a timeout or an error, to
//! the back.
//!
//! CPU time is measured, not sampled: at every kernel entry on a CPU the
//! time since the last one (the machine's clock, the TSC) is charged to the
//! thread that ran there, and to its *payer*: a server that runs while it
//! owes a caller a reply works on that caller's behalf, so the caller pays
//! (its CPU time and its slice), one level deep. The kernel names the payer
//! at each entry from the IPC state ([`Scheduler::enter`]). The kernel's
//! own time in an entry counts toward the next charge on that CPU.

use crate::config::{MAX_CPUS, TIME_SLICE_TICKS};
use crate::runqueue::RunQueues;

/// What a thread is doing, for the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Slot unused.
    Free,
    /// Current on a CPU.
    Running,
    /// On a run queue.
    Ready,
    /// Waiting in IPC.
    Blocked,
    /// Its process is gone; it waits only to deliver the exit or fault
    /// notice, then the slot is freed.
    Zombie,
}

/// Every CPU may run it.
pub const ANY_CPU: u8 = u8::MAX;

/// The scheduling fields of one thread slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    state: RunState,
    priority: u8,
    /// The CPU it runs on while `Running` (else the one it ran on last).
    cpu: u8,
    /// The CPUs it may run on, one bit each.
    affinity: u8,
    /// Clock time left of its time slice.
    slice_left: u64,
    /// Tick at which its wait ends with ETIMEDOUT; 0: no deadline.
    deadline: u64,
    /// Clock time charged to it: its own running, and servers' running on
    /// its behalf.
    used: u64,
    /// Its process has a CPU budget (a `cpu_limit`): servers working on
    /// its behalf charge it.
    budgeted: bool,
}

impl Run {
    const FREE: Run = Run {
        state: RunState::Free,
        priority: 0,
        cpu: 0,
        affinity: ANY_CPU,
        slice_left: 0,
        deadline: 0,
        used: 0,
        budgeted: false,
    };
}

/// One CPU's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cpu {
    /// Its current thread.
    current: Option<usize>,
    /// When the current thread (or the idle loop) was last charged.
    since: u64,
    /// Set by `yield` and by the end of a time slice: the current thread
    /// goes to the back of its queue with a full slice at the next pick.
    yield_requested: bool,
    /// An interrupt asking it to pick again is on its way.
    kicked: bool,
}

impl Cpu {
    const IDLE: Cpu = Cpu {
        current: None,
        since: 0,
        yield_requested: false,
        kicked: false,
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
    /// Nothing can run here now, but something may later (a timed wait
    /// will end, or another CPU runs and may wake a thread): idle until an
    /// interrupt. `released` is the thread that was current (and no longer
    /// is).
    Idle {
        /// The thread that was current until now, if any.
        released: Option<usize>,
    },
    /// Nothing runs on any CPU and no timed wait will end: unless an
    /// interrupt may still wake someone, the system is done. No thread is
    /// current; `released` was, until now.
    Quiescent {
        /// The thread that was current until now, if any.
        released: Option<usize>,
    },
}

/// The run state of `N` thread slots, the ready queues and every CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduler<const N: usize> {
    runs: [Run; N],
    queues: RunQueues<N>,
    cpus: [Cpu; MAX_CPUS],
    /// The CPU the kernel runs on now.
    this: usize,
    /// CPUs that run threads, one bit each.
    online: u8,
    /// The clock at the kernel's last entry.
    now: u64,
    /// Clock time of one time slice.
    slice: u64,
}

impl<const N: usize> Scheduler<N> {
    /// Every slot free, nothing running, CPU 0 online, one clock unit per
    /// tick until [`Scheduler::set_tick_length`] says otherwise.
    pub const fn new() -> Self {
        Scheduler {
            runs: [Run::FREE; N],
            queues: RunQueues::new(),
            cpus: [Cpu::IDLE; MAX_CPUS],
            this: 0,
            online: 1,
            now: 0,
            slice: TIME_SLICE_TICKS as u64,
        }
    }

    /// Sets the clock time of one timer tick (time slices are
    /// `TIME_SLICE_TICKS` of them).
    pub fn set_tick_length(&mut self, clock_per_tick: u64) {
        self.slice = clock_per_tick.max(1) * TIME_SLICE_TICKS as u64;
    }

    /// Clock time of one time slice.
    pub fn slice_length(&self) -> u64 {
        self.slice
    }

    /// CPU `cpu` starts running threads.
    pub fn bring_online(&mut self, cpu: usize) {
        assert!(cpu < MAX_CPUS);
        self.online |= 1 << cpu;
        self.cpus[cpu].since = self.now;
    }

    /// The CPUs that run threads, one bit each.
    pub fn online(&self) -> u8 {
        self.online
    }

    /// `thread`'s process has a CPU budget: a server working on its behalf
    /// charges it (see [`Scheduler::enter`]).
    pub fn set_budgeted(&mut self, thread: usize, budgeted: bool) {
        self.runs[thread].budgeted = budgeted;
    }

    /// The kernel was entered on `cpu` at clock time `now`: what follows
    /// concerns that CPU. The thread that ran there is charged for the time
    /// since the last entry, and so is its payer: the caller `payer_of`
    /// names (a server works for the caller it owes a reply) if that caller
    /// has a budget, else the thread itself.
    #[inline(always)]
    pub fn enter(&mut self, cpu: usize, now: u64, payer_of: impl Fn(usize) -> usize) {
        let this = cpu % MAX_CPUS;
        self.this = this;
        let now = self.now.max(now);
        self.now = now;
        // SAFETY: `self` is borrowed whole.
        unsafe { Self::charge(self, this, now, payer_of) };
    }

    /// [`Scheduler::enter`] for the IPC fast path on `cpu` in shared mode
    /// (see `crate::ipc::fastpath`): the charge only; returns the thread
    /// current on `cpu`. It touches nothing
    /// shared by the CPUs (not the CPU the other methods mean, not the
    /// kernel's clock, which the next exclusive entry moves on), and it
    /// needs no clock that never goes back across CPUs: `cpu`'s own clock
    /// does not, and a `since` another CPU's clock set is kept if later.
    ///
    /// # Safety
    /// `this` points at a live scheduler, and no other CPU touches `cpu`'s
    /// slot, the thread current there or the payer `payer_of` names
    /// meanwhile (the caller holds `cpu`'s claim).
    #[inline(always)]
    pub unsafe fn enter_shared(
        this: *mut Self,
        cpu: usize,
        now: u64,
        payer_of: impl Fn(usize) -> usize,
    ) -> Option<usize> {
        let cpu = cpu % MAX_CPUS;
        // SAFETY: per the contract; a read of `cpu`'s slot.
        let now = unsafe { (*this).cpus[cpu].since }.max(now);
        // SAFETY: per the contract.
        unsafe { Self::charge(this, cpu, now, payer_of) }
    }

    /// Charges the time from `cpu`'s last charge to `now` (no earlier) to the
    /// thread current there and to its payer; returns that thread.
    ///
    /// # Safety
    /// As for [`Scheduler::enter_shared`]; each reference it makes is to
    /// one slot.
    #[inline(always)]
    unsafe fn charge(this: *mut Self, cpu: usize, now: u64, payer_of: impl Fn(usize) -> usize) -> Option<usize> {
        // SAFETY: per the contract, nothing else refers to `cpu`'s slot.
        let cpu = unsafe { &mut (*this).cpus[cpu % MAX_CPUS] };
        cpu.kicked = false;
        // `since` is never later than `now` (the callers see to it): no
        // underflow.
        let elapsed = now - cpu.since;
        cpu.since = now;
        let current = cpu.current;
        if let Some(thread) = current {
            let thread = thread % N;
            let caller = payer_of(thread) % N;
            // SAFETY: per the contract, nothing else refers to the current
            // thread's slot or to its payer's (another one, below).
            let run = unsafe { &mut (*this).runs[thread] };
            run.slice_left = run.slice_left.saturating_sub(elapsed);
            // SAFETY: as above; a read.
            if caller != thread && unsafe { (*this).runs[caller].budgeted } {
                // SAFETY: as above: the payer's slot, not the thread's.
                let paying = unsafe { &mut (*this).runs[caller] };
                paying.used += elapsed;
                paying.slice_left = paying.slice_left.saturating_sub(elapsed);
            } else {
                run.used += elapsed;
            }
        }
        current
    }

    /// The CPU the kernel runs on.
    #[inline(always)]
    pub fn cpu(&self) -> usize {
        self.this
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

    /// Clock time left of `thread`'s time slice.
    #[inline(always)]
    pub fn slice_left(&self, thread: usize) -> u64 {
        self.runs[thread % N].slice_left
    }

    /// Clock time charged to `thread`.
    pub fn used(&self, thread: usize) -> u64 {
        self.runs[thread].used
    }

    /// The CPU `thread` runs on, if it is running.
    pub fn running_on(&self, thread: usize) -> Option<usize> {
        (self.runs[thread].state == RunState::Running).then_some(self.runs[thread].cpu as usize)
    }

    /// The thread running on this CPU, if any.
    #[inline(always)]
    pub fn current(&self) -> Option<usize> {
        self.cpus[self.this].current
    }

    /// The thread running on `cpu`, if any.
    pub fn current_on(&self, cpu: usize) -> Option<usize> {
        self.cpus[cpu].current
    }

    /// Whether a thread readier than `priority` waits: a thread of that
    /// priority that would run now must instead let it go first. (It may
    /// be one this CPU may not run: then the answer is only cautious.)
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
    /// priority, with a full slice, allowed on the CPUs of `affinity` (one
    /// bit each; [`ANY_CPU`]).
    pub fn start(&mut self, thread: usize, priority: u8, affinity: u8) {
        assert_eq!(self.runs[thread].state, RunState::Free, "starting a used slot");
        self.runs[thread] = Run {
            state: RunState::Ready,
            priority,
            cpu: 0,
            affinity: if affinity == 0 { ANY_CPU } else { affinity },
            slice_left: self.slice,
            deadline: 0,
            used: 0,
            budgeted: false,
        };
        self.queues.push_back(thread, priority);
    }

    /// The current thread waits (in IPC) until woken, or until tick
    /// `deadline` (0: no deadline). It stays current until the next pick.
    #[inline(always)]
    pub fn block(&mut self, thread: usize, deadline: u64) {
        assert_eq!(self.current(), Some(thread), "only the current thread blocks");
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

    /// Ends `thread`'s wait after a message or reply: ready at the front of
    /// its priority, so that it runs next among its equals, if it has slice
    /// left; at the back with a new slice if not (a thread whose calls cost
    /// its servers a whole slice takes its turn like everyone else).
    pub fn wake_first(&mut self, thread: usize) {
        let priority = self.unblock(thread);
        let run = &mut self.runs[thread];
        if run.slice_left == 0 {
            run.slice_left = self.slice;
            self.queues.push_back(thread, priority);
        } else {
            self.queues.push_front(thread, priority);
        }
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

    /// `thread`'s process ended: it runs no more, whatever it was doing or
    /// wherever. Returns whether it was this CPU's current thread (then
    /// this CPU has none); a thread running on another CPU leaves that CPU
    /// without a current thread too, and the kernel must make that CPU
    /// stop running it ([`Scheduler::running_on`] before the call says
    /// where).
    pub fn end(&mut self, thread: usize) -> bool {
        let was_current = self.cpus[self.this].current == Some(thread);
        let run = &mut self.runs[thread];
        assert!(
            !matches!(run.state, RunState::Free | RunState::Zombie),
            "ending thread {thread} twice"
        );
        if run.state == RunState::Running {
            // Time it ran on another CPU since that CPU's last entry is not
            // charged (it ends now anyway).
            self.cpus[run.cpu as usize].current = None;
        }
        let run = &mut self.runs[thread];
        self.queues.remove(thread);
        run.state = RunState::Zombie;
        run.deadline = 0;
        was_current
    }

    /// Frees the slot of a zombie whose notice is delivered.
    pub fn free(&mut self, thread: usize) {
        assert_eq!(self.runs[thread].state, RunState::Zombie, "freeing a live thread");
        self.runs[thread] = Run::FREE;
    }

    /// The current thread gives up the rest of its slice at the next pick.
    pub fn request_yield(&mut self) {
        self.cpus[self.this].yield_requested = true;
    }

    /// A timer tick on this CPU (charged at the entry): when the running
    /// thread's slice is gone, it yields at the next pick.
    pub fn charge_tick(&mut self) {
        if let Some(current) = self.current().filter(|&t| self.runs[t].state == RunState::Running)
            && self.runs[current].slice_left == 0
        {
            self.cpus[self.this].yield_requested = true;
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

    /// Decides what runs next on this CPU and makes it current.
    #[inline(always)]
    pub fn pick(&mut self) -> Pick {
        let this = self.this;
        let yielded = core::mem::take(&mut self.cpus[this].yield_requested);
        let next = match self.cpus[this].current {
            Some(current) if self.runs[current % N].state == RunState::Running => {
                let priority = self.runs[current % N].priority;
                if yielded {
                    let run = &mut self.runs[current % N];
                    run.state = RunState::Ready;
                    run.slice_left = self.slice;
                    self.queues.push_back(current, priority);
                    self.pop_here().expect("the current thread was just queued")
                } else if self.readier_here(priority) {
                    self.runs[current % N].state = RunState::Ready;
                    self.queues.push_front(current, priority);
                    self.pop_here().expect("a higher priority is ready")
                } else {
                    return Pick::Same(current);
                }
            }
            _ => match self.pop_here() {
                Some(next) => next,
                None => return self.nothing_ready(),
            },
        };
        let run = &mut self.runs[next % N];
        run.state = RunState::Running;
        run.cpu = this as u8;
        let from = self.cpus[this].current.replace(next);
        if from == Some(next) {
            Pick::Same(next)
        } else {
            Pick::Switch { from, to: next }
        }
    }

    /// Whether a thread this CPU may run is ready at a priority above
    /// `priority`.
    fn readier_here(&self, priority: u8) -> bool {
        if !self.outranked(priority) {
            return false;
        }
        let bit = 1 << self.this;
        let runs = &self.runs;
        self.queues
            .highest_where(|t| runs[t].affinity & bit != 0)
            .is_some_and(|ready| ready > priority)
    }

    /// Takes the first ready thread of the highest priority that this CPU
    /// may run.
    #[inline(always)]
    fn pop_here(&mut self) -> Option<usize> {
        let bit = 1 << self.this;
        let runs = &self.runs;
        self.queues.pop_where(|t| runs[t].affinity & bit != 0)
    }

    /// [`Scheduler::pick`] when no thread is ready for this CPU: idle until
    /// an interrupt, or nothing will ever run again. Either way no thread
    /// is current here.
    #[cold]
    #[inline(never)]
    fn nothing_ready(&mut self) -> Pick {
        let released = self.cpus[self.this].current.take();
        // The cheap tests first: the scan of every thread's deadline runs
        // only when the system may be about to finish.
        if !self.queues.is_empty() || self.cpus.iter().any(|cpu| cpu.current.is_some()) || self.has_timed_waits() {
            Pick::Idle { released }
        } else {
            Pick::Quiescent { released }
        }
    }

    /// The IPC fast path's direct switch on `cpu`: its current thread
    /// `from` waits (with no deadline) and `to`, which waited, runs at once
    /// without passing through a queue. Both keep what is left of their
    /// slices. The same state as [`Scheduler::block`],
    /// [`Scheduler::wake_first`] and a [`Scheduler::pick`] that finds `to`
    /// first (the fast path checked [`Scheduler::runs_next_on`]).
    ///
    /// # Safety
    /// `this` points at a live scheduler, and no other CPU touches `cpu`'s
    /// slot or the two threads' meanwhile (the caller has the scheduler to
    /// itself, or holds `cpu`'s claim and took `to` from an endpoint it has
    /// claimed).
    #[inline(always)]
    pub unsafe fn hand_off_on(this: *mut Self, cpu: usize, from: usize, to: usize) {
        let cpu = cpu % MAX_CPUS;
        // SAFETY: per the contract: each place is one slot no other CPU
        // touches, and no reference outlives its statement.
        unsafe {
            // The fast path runs for the current thread, and its peer waits
            // in IPC, so it is blocked: the host tests keep the assertion.
            // `from` runs, so it has no deadline (`Scheduler::check`):
            // blocking it with none leaves that as it is.
            debug_assert!(
                (*this).cpus[cpu].current == Some(from)
                    && (*this).runs[from % N].deadline == 0
                    && (*this).runs[to % N].state == RunState::Blocked,
                "the fast path hands off from the current thread to a waiting one"
            );
            (*this).runs[from % N].state = RunState::Blocked;
            let run = &mut (*this).runs[to % N];
            run.state = RunState::Running;
            run.deadline = 0;
            run.cpu = cpu as u8;
            (*this).cpus[cpu].current = Some(to);
        }
    }

    /// Whether `peer`, woken, would run next on `cpu`: nothing readier waits
    /// (a thread on the ready queues outranks it), it may run there, and it
    /// has slice left (a peer without goes to the back of its queue, which
    /// the slow path does).
    ///
    /// # Safety
    /// `this` points at a live scheduler, and no other CPU changes the ready
    /// queues or `peer`'s slot meanwhile (the caller has the scheduler to
    /// itself, or holds `cpu`'s claim and found `peer` through an endpoint
    /// it has claimed: CPUs in shared mode change no queue).
    #[inline(always)]
    pub unsafe fn runs_next_on(this: *const Self, cpu: usize, peer: usize) -> bool {
        // SAFETY: per the contract: reads of the queues and of one slot.
        let (highest, run) = unsafe { ((*this).queues.highest(), &(*this).runs[peer % N]) };
        highest.is_none_or(|ready| ready <= run.priority)
            && run.affinity & (1 << (cpu % MAX_CPUS)) != 0
            && run.slice_left != 0
    }

    /// The other CPUs that should pick again now: an idle one that may run
    /// a ready thread, or one whose thread a ready thread it may run
    /// outranks. Each is named once until it next enters the kernel.
    #[inline(always)]
    pub fn kicks(&mut self) -> u8 {
        // Only the other online CPUs, one bit each.
        let others = self.online & !(1 << self.this);
        if others == 0 || self.queues.is_empty() {
            return 0;
        }
        self.kicks_among(others)
    }

    /// [`Scheduler::kicks`] among the CPUs of `others` (one bit each) when
    /// a thread is ready: out of line, so that the usual answer (none)
    /// costs two tests.
    #[inline(never)]
    fn kicks_among(&mut self, mut others: u8) -> u8 {
        let mut kicks = 0;
        while others != 0 {
            let cpu = others.trailing_zeros() as usize;
            let bit = 1 << cpu;
            others &= !bit;
            if self.cpus[cpu % MAX_CPUS].kicked {
                continue;
            }
            let runs = &self.runs;
            let Some(ready) = self.queues.highest_where(|t| runs[t].affinity & bit != 0) else {
                continue;
            };
            let outranks = match self.cpus[cpu].current {
                None => true,
                Some(current) => ready > self.runs[current].priority,
            };
            if outranks {
                self.cpus[cpu].kicked = true;
                kicks |= bit;
            }
        }
        kicks
    }

    /// Checks that the states and the queues agree: a thread is queued
    /// exactly when it is `Ready`, at its own priority; a thread runs
    /// exactly when it is the current thread of the CPU it names. Returns
    /// the first disagreement.
    pub fn check(&self) -> Result<(), &'static str> {
        for (thread, run) in self.runs.iter().enumerate() {
            let queued = self.queues.is_queued(thread);
            if queued != (run.state == RunState::Ready) {
                return Err("a thread is queued exactly when it is ready");
            }
            if queued && self.queues.queued_priority(thread) != run.priority {
                return Err("a ready thread is queued at its own priority");
            }
            if run.state == RunState::Running && self.cpus[run.cpu as usize].current != Some(thread) {
                return Err("a running thread is the current thread of its CPU");
            }
            if run.deadline != 0 && run.state != RunState::Blocked {
                return Err("only a blocked thread has a deadline");
            }
        }
        for (index, cpu) in self.cpus.iter().enumerate() {
            // Between a block and the next pick the current thread is
            // blocked; it is never free, queued or a zombie.
            if let Some(current) = cpu.current
                && !(matches!(self.runs[current].state, RunState::Running | RunState::Blocked)
                    && self.runs[current].cpu as usize == index)
            {
                return Err("a CPU's current thread runs there (or just blocked)");
            }
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

    fn itself(thread: usize) -> usize {
        thread
    }

    /// A tick of one clock unit per tick on this CPU.
    fn tick(sched: &mut Scheduler<8>) {
        let now = sched.now + 1;
        sched.enter(sched.cpu(), now, itself);
        sched.charge_tick();
    }

    #[test]
    fn priorities_are_strict_and_equals_take_turns() {
        let mut sched = Scheduler::<8>::new();
        sched.start(1, 2, ANY_CPU);
        sched.start(2, 5, ANY_CPU);
        sched.start(3, 2, ANY_CPU);
        assert_eq!(sched.pick(), Pick::Switch { from: None, to: 2 });
        sched.block(2, 0);
        assert_eq!(sched.pick(), Pick::Switch { from: Some(2), to: 1 });
        // 1's slice runs out: 3 goes next, 1 after it.
        for _ in 0..TIME_SLICE_TICKS {
            tick(&mut sched);
        }
        assert_eq!(sched.pick(), Pick::Switch { from: Some(1), to: 3 });
        assert_eq!(sched.state(1), RunState::Ready);
        assert_eq!(sched.used(1), TIME_SLICE_TICKS as u64);
        sched.check().unwrap();
    }

    #[test]
    fn a_preempted_thread_keeps_its_slice_and_its_place() {
        let mut sched = Scheduler::<8>::new();
        sched.start(1, 2, ANY_CPU);
        sched.start(2, 2, ANY_CPU);
        sched.start(3, 6, ANY_CPU);
        sched.block_after_start(3);
        assert_eq!(run_first(&mut sched), 1);
        tick(&mut sched);
        // The high-priority thread wakes: 1 goes back to the front.
        sched.wake(3);
        assert_eq!(sched.pick(), Pick::Switch { from: Some(1), to: 3 });
        sched.block(3, 0);
        assert_eq!(run_first(&mut sched), 1);
        assert_eq!(sched.slice_left(1), sched.slice_length() - 1);
        sched.check().unwrap();
    }

    #[test]
    fn time_is_charged_at_every_switch_not_sampled_at_ticks() {
        let mut sched = Scheduler::<8>::new();
        sched.set_tick_length(100);
        sched.start(1, 2, ANY_CPU);
        sched.start(2, 2, ANY_CPU);
        assert_eq!(run_first(&mut sched), 1);
        // 1 runs for 70 units between ticks and blocks: no tick sees it,
        // but it is charged.
        sched.enter(0, 70, itself);
        sched.block(1, 0);
        assert_eq!(run_first(&mut sched), 2);
        assert_eq!(sched.used(1), 70);
        sched.enter(0, 100, itself);
        sched.charge_tick();
        assert_eq!(sched.used(2), 30);
        sched.check().unwrap();
    }

    #[test]
    fn a_server_runs_at_its_callers_expense() {
        let mut sched = Scheduler::<8>::new();
        sched.set_tick_length(100);
        sched.start(1, 6, ANY_CPU); // the server
        sched.start(2, 2, ANY_CPU); // the client, with a budget
        sched.set_budgeted(2, true);
        sched.block_after_start(1);
        assert_eq!(run_first(&mut sched), 2);
        // The client calls; the server takes the call and works 250 units
        // for it, then replies.
        sched.enter(0, 10, itself);
        // SAFETY: `sched` is borrowed whole.
        unsafe { Scheduler::hand_off_on(&mut sched, 0, 2, 1) };
        sched.enter(0, 260, |t| if t == 1 { 2 } else { t });
        sched.block(1, 0);
        sched.wake_first(2);
        assert_eq!(sched.used(2), 260);
        assert_eq!(sched.used(1), 0);
        // The client's slice (200) is gone: it goes to the back, renewed.
        assert_eq!(sched.slice_left(2), sched.slice_length());
        sched.check().unwrap();
    }

    #[test]
    fn deadlines_expire_and_idle_waits_for_them() {
        let mut sched = Scheduler::<8>::new();
        sched.start(4, 1, ANY_CPU);
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
        sched.start(0, 3, ANY_CPU);
        sched.start(1, 3, ANY_CPU);
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
            sched.start(1, 4, ANY_CPU);
            sched.start(2, 4, ANY_CPU);
            sched.start(3, 4, ANY_CPU);
            sched.block_after_start(2);
            assert_eq!(run_first(&mut sched), 1);
            sched
        };
        let mut fast = setup();
        // SAFETY: `fast` is borrowed whole.
        unsafe { Scheduler::hand_off_on(&mut fast, 0, 1, 2) };
        let mut slow = setup();
        slow.block(1, 0);
        slow.wake_first(2);
        assert_eq!(slow.pick(), Pick::Switch { from: Some(1), to: 2 });
        assert_eq!(fast, slow);
        fast.check().unwrap();
    }

    #[test]
    fn each_cpu_runs_its_own_thread_and_affinity_holds() {
        let mut sched = Scheduler::<8>::new();
        sched.bring_online(1);
        sched.start(1, 3, 1 << 1);
        sched.start(2, 3, ANY_CPU);
        // CPU 0 may not run thread 1: it takes 2.
        assert_eq!(run_first(&mut sched), 2);
        // CPU 0 runs a thread; CPU 1 idles with 1 ready for it: kick it.
        assert_eq!(sched.kicks(), 1 << 1);
        assert_eq!(sched.kicks(), 0, "once until it enters the kernel");
        sched.enter(1, 0, itself);
        assert_eq!(run_first(&mut sched), 1);
        assert_eq!(sched.running_on(1), Some(1));
        assert_eq!(sched.current_on(0), Some(2));
        // CPU 1 ends thread 2, which runs on CPU 0.
        assert!(!sched.end(2));
        assert_eq!(sched.current_on(0), None);
        sched.check().unwrap();
        // Nothing left for CPU 0, but CPU 1 runs: idle, not quiescent.
        sched.enter(0, 0, itself);
        assert_eq!(sched.pick(), Pick::Idle { released: None });
    }

    #[test]
    fn a_thread_outranking_another_cpus_thread_kicks_it() {
        let mut sched = Scheduler::<8>::new();
        sched.bring_online(1);
        sched.start(1, 2, ANY_CPU);
        sched.start(2, 2, ANY_CPU);
        sched.start(3, 5, ANY_CPU);
        sched.block_after_start(3);
        assert_eq!(run_first(&mut sched), 1);
        sched.enter(1, 0, itself);
        assert_eq!(run_first(&mut sched), 2);
        sched.enter(0, 0, itself);
        assert_eq!(sched.kicks(), 0);
        sched.wake(3);
        // CPU 0 picks 3 itself at its next pick; CPU 1 is told too (either
        // would do; the first to pick takes it).
        assert_eq!(sched.kicks(), 1 << 1);
        assert_eq!(sched.pick(), Pick::Switch { from: Some(1), to: 3 });
        sched.check().unwrap();
    }

    impl<const N: usize> Scheduler<N> {
        /// Test set-up: `thread` ran and blocked (without a pick between).
        fn block_after_start(&mut self, thread: usize) {
            self.queues.remove(thread);
            self.runs[thread].state = RunState::Blocked;
        }
    }
}
