//! Run queues: strict priorities, round-robin within a priority.
//!
//! A ready thread waits in the FIFO of its priority; the running thread is
//! on no queue. A bitmap of non-empty priorities makes picking the next
//! thread O(1). Policy (which thread gets which priority) comes from the boot
//! manifest, not from here; when a thread is queued is decided by
//! [`crate::sched`].

use crate::list::{Links, List};

/// Number of priority levels (0 lowest).
pub const PRIORITIES: usize = abi::manifest::PRIORITIES as usize;

/// The ready threads of `N` thread slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunQueues<const N: usize> {
    queues: [List; PRIORITIES],
    links: Links<N>,
    priority_of: [u8; N],
    nonempty: u16,
}

impl<const N: usize> RunQueues<N> {
    /// No thread ready.
    pub const fn new() -> Self {
        RunQueues {
            queues: [List::EMPTY; PRIORITIES],
            links: Links::new(),
            priority_of: [0; N],
            nonempty: 0,
        }
    }

    /// Makes `thread` ready at the back of its priority's queue (it used its
    /// time slice or just woke).
    pub fn push_back(&mut self, thread: usize, priority: u8) {
        self.queues[priority as usize].push_back(&mut self.links, thread);
        self.priority_of[thread] = priority;
        self.nonempty |= 1 << priority;
    }

    /// Makes `thread` ready at the front (it was preempted before its slice
    /// ended, so it goes first again).
    pub fn push_front(&mut self, thread: usize, priority: u8) {
        self.queues[priority as usize].push_front(&mut self.links, thread);
        self.priority_of[thread] = priority;
        self.nonempty |= 1 << priority;
    }

    /// The highest priority with a ready thread.
    #[inline(always)]
    pub fn highest(&self) -> Option<u8> {
        (self.nonempty != 0).then(|| 15 - self.nonempty.leading_zeros() as u8)
    }

    /// Takes the first thread of the highest non-empty priority.
    pub fn pop(&mut self) -> Option<usize> {
        let priority = self.highest()? as usize;
        let thread = self.queues[priority].pop_front(&mut self.links)?;
        if self.queues[priority].is_empty() {
            self.nonempty &= !(1 << priority);
        }
        Some(thread)
    }

    /// Takes the first thread, highest priority first, for which `ok`
    /// holds (a CPU takes only the threads it may run).
    #[inline(always)]
    pub fn pop_where(&mut self, ok: impl Fn(usize) -> bool) -> Option<usize> {
        let mut levels = self.nonempty;
        while levels != 0 {
            let priority = 15 - levels.leading_zeros() as usize;
            levels &= !(1 << priority);
            let queue = &self.queues[priority];
            // The common case: the first thread will do.
            let first = queue.front()?;
            let found = if ok(first) {
                Some(first)
            } else {
                queue.iter(&self.links).find(|&t| ok(t))
            };
            if let Some(thread) = found {
                self.queues[priority].remove(&mut self.links, thread);
                if self.queues[priority].is_empty() {
                    self.nonempty &= !(1 << priority);
                }
                return Some(thread);
            }
        }
        None
    }

    /// The highest priority with a ready thread for which `ok` holds.
    pub fn highest_where(&self, ok: impl Fn(usize) -> bool) -> Option<u8> {
        let mut levels = self.nonempty;
        while levels != 0 {
            let priority = 15 - levels.leading_zeros() as usize;
            levels &= !(1 << priority);
            if self.queues[priority].iter(&self.links).any(&ok) {
                return Some(priority as u8);
            }
        }
        None
    }

    /// Takes `thread` off its queue if it is on one.
    pub fn remove(&mut self, thread: usize) {
        if !self.links.is_linked(thread) {
            return;
        }
        let priority = self.priority_of[thread] as usize;
        self.queues[priority].remove(&mut self.links, thread);
        if self.queues[priority].is_empty() {
            self.nonempty &= !(1 << priority);
        }
    }

    /// Whether `thread` is on a queue.
    pub fn is_queued(&self, thread: usize) -> bool {
        self.links.is_linked(thread)
    }

    /// Ready threads in total.
    pub fn len(&self) -> usize {
        self.queues.iter().map(List::len).sum()
    }

    /// Whether no thread is ready.
    pub fn is_empty(&self) -> bool {
        self.nonempty == 0
    }

    /// The priority `thread` was queued at (meaningful while queued).
    pub fn queued_priority(&self, thread: usize) -> u8 {
        self.priority_of[thread]
    }

    /// The queued threads of `priority`, front first.
    pub fn queue(&self, priority: u8) -> impl Iterator<Item = usize> + '_ {
        self.queues[priority as usize].iter(&self.links)
    }
}

impl<const N: usize> Default for RunQueues<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_priority_first_round_robin_within() {
        let mut queues = RunQueues::<16>::new();
        queues.push_back(1, 2);
        queues.push_back(2, 5);
        queues.push_back(3, 2);
        queues.push_back(4, 5);
        assert_eq!(queues.highest(), Some(5));
        assert_eq!(queues.pop(), Some(2));
        // Thread 2 used its slice: it goes behind 4.
        queues.push_back(2, 5);
        assert_eq!(queues.pop(), Some(4));
        assert_eq!(queues.pop(), Some(2));
        assert_eq!(queues.highest(), Some(2));
        assert_eq!(queues.pop(), Some(1));
        assert_eq!(queues.pop(), Some(3));
        assert_eq!(queues.pop(), None);
        assert_eq!(queues.highest(), None);
    }

    #[test]
    fn a_filter_skips_threads_in_order() {
        let mut queues = RunQueues::<16>::new();
        queues.push_back(1, 5);
        queues.push_back(2, 5);
        queues.push_back(3, 2);
        assert_eq!(queues.highest_where(|t| t == 3), Some(2));
        assert_eq!(queues.pop_where(|t| t != 1), Some(2));
        assert_eq!(queues.pop_where(|t| t == 3), Some(3));
        assert_eq!(queues.highest(), Some(5));
        assert_eq!(queues.pop_where(|t| t == 3), None);
        assert_eq!(queues.pop_where(|_| true), Some(1));
        assert!(queues.is_empty());
    }

    #[test]
    fn preempted_threads_go_first_and_removal_updates_the_bitmap() {
        let mut queues = RunQueues::<16>::new();
        queues.push_back(1, 3);
        queues.push_front(7, 3);
        assert_eq!(queues.len(), 2);
        queues.remove(7);
        queues.remove(7); // not queued: no effect
        assert!(!queues.is_queued(7));
        assert_eq!(queues.pop(), Some(1));
        queues.push_back(9, 0);
        queues.remove(9);
        assert_eq!(queues.highest(), None);
    }

    #[test]
    fn every_priority_level_works() {
        let mut queues = RunQueues::<16>::new();
        for priority in 0..PRIORITIES as u8 {
            queues.push_back(priority as usize, priority);
        }
        for priority in (0..PRIORITIES as u8).rev() {
            assert_eq!(queues.pop(), Some(priority as usize));
        }
    }
}
