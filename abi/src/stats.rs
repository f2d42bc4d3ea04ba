//! The kernel's resource counters, as the `stats` syscall copies them out.
//!
//! Tests read them before and after a scenario to prove that nothing leaked:
//! every frame, table slot and handle taken by a process comes back when it
//! is gone.

/// Resource counters. The layout is part of the ABI (`repr(C)`, all `u64`);
/// `layout` tests pin it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Physical frames not in use.
    pub free_frames: u64,
    /// Physical frames the allocator manages.
    pub total_frames: u64,
    /// Live processes, including ones whose exit notice is not yet delivered.
    pub processes: u64,
    /// Capacity of the process table.
    pub process_capacity: u64,
    /// Live threads.
    pub threads: u64,
    /// Capacity of the thread table.
    pub thread_capacity: u64,
    /// Live endpoints.
    pub endpoints: u64,
    /// Capacity of the endpoint table.
    pub endpoint_capacity: u64,
    /// Open handles across all processes.
    pub handles: u64,
    /// Timer ticks since boot.
    pub ticks: u64,
    /// Syscalls served since boot.
    pub syscalls: u64,
    /// Processes started since boot.
    pub spawned: u64,
    /// Frames promised to private mappings but not made yet: each is made
    /// on first touch, from the free frames. So `free_frames -
    /// promised_frames` (`Stats::available_frames`) stays the same while
    /// programs touch what they mapped, and comes back when what they held
    /// is gone.
    pub promised_frames: u64,
}

impl Stats {
    /// Size in bytes: the syscall copies this much when `len` allows.
    pub const SIZE: usize = core::mem::size_of::<Stats>();
    /// The smallest `len` the `stats` syscall takes: the size of the
    /// counters of ABI 1.0, which had no `promised_frames`. A shorter `len`
    /// than [`Stats::SIZE`] gets the fields that fit.
    pub const MIN_SIZE: usize = 12 * 8;

    /// Free frames not promised to a mapping: what programs can still map
    /// and touch.
    pub fn available_frames(&self) -> u64 {
        self.free_frames.saturating_sub(self.promised_frames)
    }

    /// The counters as the syscall copies them out: each `u64` in field
    /// order, little-endian.
    pub fn to_bytes(&self) -> [u8; Stats::SIZE] {
        let words = [
            self.free_frames,
            self.total_frames,
            self.processes,
            self.process_capacity,
            self.threads,
            self.thread_capacity,
            self.endpoints,
            self.endpoint_capacity,
            self.handles,
            self.ticks,
            self.syscalls,
            self.spawned,
            self.promised_frames,
        ];
        let mut bytes = [0u8; Stats::SIZE];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of};

    #[test]
    fn layout() {
        assert_eq!(Stats::SIZE, 13 * 8);
        assert_eq!(offset_of!(Stats, promised_frames), Stats::MIN_SIZE);
        assert_eq!(align_of::<Stats>(), 8);
        assert_eq!(offset_of!(Stats, free_frames), 0);
        assert_eq!(offset_of!(Stats, total_frames), 8);
        assert_eq!(offset_of!(Stats, processes), 16);
        assert_eq!(offset_of!(Stats, handles), 64);
        assert_eq!(offset_of!(Stats, spawned), 88);
    }

    #[test]
    fn bytes_follow_the_layout() {
        let stats = Stats {
            free_frames: 1,
            handles: 0x0102,
            spawned: u64::MAX,
            ..Stats::default()
        };
        let bytes = stats.to_bytes();
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[offset_of!(Stats, handles)..][..2], &[2, 1]);
        assert_eq!(&bytes[offset_of!(Stats, spawned)..][..8], &[0xff; 8]);
    }
}
