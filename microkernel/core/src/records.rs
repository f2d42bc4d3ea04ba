//! Process records: what a process handle names.
//!
//! A record outlives its process for as long as handles name it, so that a
//! parent can still learn how a child ended after the child's slots were
//! reused. It holds the pid, the process slot while the process runs, how
//! it ended once it has, and a watch: the notification to signal at the
//! end (`process_watch`). Threads waiting in `process_wait` are found
//! through their IPC state (`IpcState::Joining`).

use abi::Error;
use abi::process::Ending;

/// One record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Whether the slot is in use.
    pub live: bool,
    /// The process's id.
    pub pid: u32,
    /// Its process slot while it runs; `None` once it has ended.
    pub process: Option<usize>,
    /// How it ended, with `process_wait`'s detail.
    pub ending: Option<(Ending, u64)>,
    /// Open handles naming the record; it is freed with the last.
    pub handles: u32,
    /// The notification (and bits) to signal when it ends.
    pub watch: Option<(usize, u64)>,
}

impl Record {
    const FREE: Record = Record {
        live: false,
        pid: 0,
        process: None,
        ending: None,
        handles: 0,
        watch: None,
    };
}

/// `R` record slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Records<const R: usize> {
    records: [Record; R],
}

impl<const R: usize> Records<R> {
    /// Every slot free.
    pub const fn new() -> Self {
        Records {
            records: [Record::FREE; R],
        }
    }

    /// Whether a record can be made.
    pub fn has_room(&self) -> bool {
        self.records.iter().any(|r| !r.live)
    }

    /// A record for the running process `pid` in slot `process`, with no
    /// handles yet (the caller opens the first at once).
    pub fn create(&mut self, pid: u32, process: usize) -> Result<usize, Error> {
        let slot = self.records.iter().position(|r| !r.live).ok_or(Error::TABLEFULL)?;
        self.records[slot] = Record {
            live: true,
            pid,
            process: Some(process),
            ..Record::FREE
        };
        Ok(slot)
    }

    /// Record `record`.
    pub fn get(&self, record: usize) -> &Record {
        &self.records[record]
    }

    /// Records in use.
    pub fn count(&self) -> usize {
        self.records.iter().filter(|r| r.live).count()
    }

    /// Counts a new handle.
    pub fn opened(&mut self, record: usize) {
        assert!(self.records[record].live, "a handle names a live record");
        self.records[record].handles += 1;
    }

    /// Counts a closed handle. With the last the record is freed: returns
    /// `Some` then, with the slot of the process if it still runs (it no
    /// longer has a record).
    pub fn closed(&mut self, record: usize) -> Option<Option<usize>> {
        let r = &mut self.records[record];
        assert!(r.live && r.handles > 0, "a closed handle was counted");
        r.handles -= 1;
        if r.handles > 0 {
            return None;
        }
        let process = r.process;
        *r = Record::FREE;
        Some(process)
    }

    /// The process ended: remembers how, and returns the watch to signal.
    pub fn end(&mut self, record: usize, ending: (Ending, u64)) -> Option<(usize, u64)> {
        let r = &mut self.records[record];
        assert!(r.live && r.ending.is_none(), "a process ends once");
        r.process = None;
        r.ending = Some(ending);
        r.watch.take()
    }

    /// Sets the watch; returns it back if the process has already ended
    /// (the caller signals it at once).
    pub fn watch(&mut self, record: usize, notification: usize, bits: u64) -> Option<(usize, u64)> {
        let r = &mut self.records[record];
        if r.ending.is_some() {
            return Some((notification, bits));
        }
        r.watch = Some((notification, bits));
        None
    }

    /// A notification was freed: no watch signals it any more.
    pub fn forget_notification(&mut self, notification: usize) {
        for r in &mut self.records {
            if r.watch.is_some_and(|(n, _)| n == notification) {
                r.watch = None;
            }
        }
    }

    /// The records, with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Record)> {
        self.records.iter().enumerate().filter(|(_, r)| r.live)
    }
}

impl<const R: usize> Default for Records<R> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_outlives_its_process_until_the_last_handle() {
        let mut records = Records::<2>::new();
        let r = records.create(7, 3).unwrap();
        records.opened(r);
        records.opened(r);
        assert_eq!(records.watch(r, 1, 4), None);
        assert_eq!(records.end(r, (Ending::Exited, 0)), Some((1, 4)));
        assert_eq!(records.get(r).process, None);
        assert_eq!(records.get(r).ending, Some((Ending::Exited, 0)));
        assert_eq!(records.watch(r, 2, 8), Some((2, 8)), "already ended: signal now");
        assert_eq!(records.closed(r), None);
        assert!(records.get(r).live);
        assert_eq!(records.closed(r), Some(None));
        assert!(!records.get(r).live);
    }

    #[test]
    fn closing_the_last_handle_of_a_running_process_unlinks_it() {
        let mut records = Records::<1>::new();
        let r = records.create(9, 5).unwrap();
        records.opened(r);
        assert_eq!(records.create(10, 6), Err(Error::TABLEFULL));
        assert_eq!(records.closed(r), Some(Some(5)));
        assert!(records.has_room());
    }

    #[test]
    fn freed_notifications_are_forgotten() {
        let mut records = Records::<2>::new();
        let r = records.create(9, 5).unwrap();
        records.opened(r);
        records.watch(r, 3, 1);
        records.forget_notification(3);
        assert_eq!(records.end(r, (Ending::Killed, 1)), None);
    }
}
