//! The arguments of the memory syscalls: addresses, lengths and permissions
//! from the edges, and the ranges `mem_unmap` and `mem_protect` may be
//! given (the rule that keeps the fuzzer alive, in `generate`'s module
//! documentation: only ranges of its own mappings, ranges that hold none of
//! its own pages, and ranges the ABI refuses whatever they hold).

use crate::Fuzzer;
use crate::layout::STACK_PAGES;
use abi::memory::{MAP_ARENA, MAP_END, MAX_OBJECT_SIZE};
use abi::{PAGE_SIZE, USER_BASE, USER_END};

/// `n` pages, in bytes.
const fn pages(n: u64) -> u64 {
    n * PAGE_SIZE
}

/// The last page of the address space (`u64::MAX` page-aligned).
const LAST_PAGE: u64 = !(PAGE_SIZE - 1);

/// Kernel-half and non-canonical addresses (page-aligned).
const FOREIGN: [u64; 6] = [
    0xffff_8000_0000_0000,
    0xffff_ffff_8010_0000,
    0xffff_ffff_ffff_f000,
    0x8000_0000_0000_0000,
    0x0000_8000_0000_0000,
    0xffff_7fff_ffff_f000,
];

impl Fuzzer {
    /// An address for `mem_map` and `mem_map_object`: 0 (the kernel
    /// chooses) nearly half the time, else a page-aligned address from the
    /// edges, now and then misaligned.
    pub fn map_address(&mut self) -> u64 {
        match self.random.below(16) {
            0..=6 => 0,
            7 => self.aligned_address() + self.random.between(1, PAGE_SIZE - 1),
            8 => self.aligned_address() + self.random.pick(&[1, 8, PAGE_SIZE / 2, PAGE_SIZE - 1]),
            _ => self.aligned_address(),
        }
    }

    /// A page-aligned address: the map arena and its end, the fuzzer's own
    /// mappings and the pages around them, its image (code, data, scratch,
    /// the holes between its segments, the page after it), its stack and
    /// the guard page, the null pages, the kernel half, non-canonical
    /// addresses, the end of user space, random ones.
    pub fn aligned_address(&mut self) -> u64 {
        let layout = self.layout;
        match self.random.below(22) {
            0 | 1 => MAP_ARENA,
            2 | 3 => MAP_ARENA + pages(self.random.below(64)),
            4..=6 => match self.some_mapping() {
                Some((start, end)) => match self.random.below(4) {
                    0 => start,
                    1 => end,
                    2 => start.saturating_sub(PAGE_SIZE).max(USER_BASE),
                    _ => start + pages(self.random.below((end - start) / PAGE_SIZE)),
                },
                None => MAP_ARENA,
            },
            7 => MAP_END - pages(self.random.between(1, 4)),
            // The stack's guard page, and the stack.
            8 => MAP_END,
            9 => USER_END - pages(self.random.between(1, STACK_PAGES)),
            // The image: a segment's first page, one inside it, the page
            // after it (a hole between segments, or the end of the image).
            10 | 11 => {
                let segments = layout.segments();
                let (start, end) = segments[self.random.below(segments.len() as u64) as usize];
                match self.random.below(3) {
                    0 => start,
                    1 => start + pages(self.random.below((end - start) / PAGE_SIZE)),
                    _ => end,
                }
            }
            12 => self
                .random
                .pick(&[layout.scratch.0, layout.image_end, layout.read_only.0]),
            // The null pages.
            13 => self.random.pick(&[0x1000, USER_BASE - PAGE_SIZE, 0x10_0000]),
            14 => self.random.pick(&FOREIGN),
            15 => self.random.pick(&[USER_END, USER_END - PAGE_SIZE, LAST_PAGE]),
            // The unmapped gap between the image and the arena.
            16 => layout.image_end + pages(self.random.between(1, 1 << 20)),
            17 => self.random.between(USER_BASE, MAP_END) & !(PAGE_SIZE - 1),
            18 => self.random.between(MAP_ARENA, MAP_END) & !(PAGE_SIZE - 1),
            19 => self.random.bits() & !(PAGE_SIZE - 1),
            20 => self.random.bits(),
            _ => MAP_ARENA + pages(self.random.below(8)),
        }
    }

    /// `[start, end)` of one of the fuzzer's mappings, if it has any.
    fn some_mapping(&mut self) -> Option<(u64, u64)> {
        let mappings = self.memory.mappings.as_slice();
        if mappings.is_empty() {
            return None;
        }
        let mapping = mappings[self.random.below(mappings.len() as u64) as usize];
        Some((mapping.start, mapping.end()))
    }

    /// A length for `mem_map`: 0, below a page, not a multiple of a page,
    /// one page, a few, many, exactly what the memory limit leaves and a
    /// page more, huge and wrapping ones, random ones.
    pub fn map_length(&mut self) -> u64 {
        let room = self.memory.room();
        match self.random.below(24) {
            0 => 0,
            1 => self.random.between(1, PAGE_SIZE - 1),
            2 => pages(self.random.between(1, 4)) + self.random.between(1, PAGE_SIZE - 1),
            3..=8 => PAGE_SIZE,
            9..=13 => pages(self.random.between(2, 8)),
            14 | 15 => pages(self.random.between(9, 64)),
            16 => pages(self.random.between(65, 512)),
            17 => pages(room),
            18 => pages(room + 1),
            19 => self
                .random
                .pick(&[1 << 32, 1 << 47, MAX_OBJECT_SIZE, MAX_OBJECT_SIZE + PAGE_SIZE]),
            // Wrapping.
            20 => {
                let back = pages(self.random.between(1, 16));
                self.random.pick(&[
                    LAST_PAGE,
                    u64::MAX,
                    0u64.wrapping_sub(MAP_ARENA),
                    0u64.wrapping_sub(back),
                ])
            }
            21 => self.random.bits(),
            22 => self.random.bits() & !(PAGE_SIZE - 1),
            _ => pages(self.random.between(1, 4)),
        }
    }

    /// A length for `mem_create`: as for `mem_map`, but objects of what
    /// the limit leaves are rarer (they are zeroed when created).
    pub fn object_length(&mut self) -> u64 {
        let room = self.memory.room().min(MAX_OBJECT_SIZE / PAGE_SIZE);
        match self.random.below(24) {
            0 => 0,
            1 => self.random.between(1, PAGE_SIZE - 1),
            2 => pages(self.random.between(1, 4)) + self.random.between(1, PAGE_SIZE - 1),
            3..=9 => PAGE_SIZE,
            10..=14 => pages(self.random.between(2, 8)),
            15 | 16 => pages(self.random.between(9, 64)),
            17 => pages(self.random.between(65, 256)),
            18 if self.random.chance(1, 4) => pages(room),
            19 => pages(room + 1),
            20 => self
                .random
                .pick(&[MAX_OBJECT_SIZE, MAX_OBJECT_SIZE + PAGE_SIZE, 1 << 32, 1 << 47]),
            21 => self.random.pick(&[LAST_PAGE, u64::MAX, 1 << 63]),
            22 => self.random.bits(),
            _ => pages(self.random.between(1, 4)),
        }
    }

    /// Permission bits: every combination of READ, WRITE and EXEC (W+X and
    /// no READ included), unknown bits, all ones, random ones; mostly the
    /// valid READ, READ|WRITE and READ|EXEC.
    pub fn perms(&mut self) -> u64 {
        match self.random.below(20) {
            0..=5 => 3,
            6..=8 => 1,
            9 => 5,
            10 => 7,
            11 => self.random.below(8),
            12 => self.random.pick(&[0, 2, 4, 6]),
            13 => 1 | 1 << self.random.between(3, 63),
            14 => 3 | self.random.pick(&[8, 16, 1 << 31, 1 << 63]),
            15 => u64::MAX,
            16 => self.random.bits(),
            _ => self.random.pick(&[1, 3]),
        }
    }

    /// Whether `mem_unmap` and `mem_protect` may be given `[address,
    /// address + len)`: the ABI refuses it whatever it holds (empty, or not
    /// page-aligned), it lies in the kernel half or beyond (nothing of the
    /// fuzzer's is there), or it holds no page of the fuzzer's own (its
    /// image, its stack and the guard page) but only its own mappings and
    /// pages it never mapped. A range that starts in user space and ends
    /// beyond it (or wraps) always holds the stack.
    pub fn range_is_safe(&self, address: u64, len: u64) -> bool {
        if len == 0 || !address.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
            return true;
        }
        if address >= USER_END {
            return true;
        }
        match address.checked_add(len) {
            Some(end) if end <= USER_END => !self.layout.touches_own(address, end),
            _ => false,
        }
    }

    /// A range for `mem_unmap` or `mem_protect`: mostly the fuzzer's own
    /// mappings (whole, one page of them, a middle part that splits them,
    /// past their end, several at once), else the arena, the null pages,
    /// the kernel half, wrapping, misaligned and random ranges. A range
    /// [`Fuzzer::range_is_safe`] refuses is replaced by a whole mapping of
    /// the fuzzer's (or the first page of the arena).
    pub fn own_range(&mut self) -> (u64, u64) {
        let mappings = self.memory.mappings.as_slice();
        let count = mappings.len() as u64;
        let (address, len) = match self.random.below(20) {
            0..=8 if count > 0 => {
                let mapping = mappings[self.random.below(count) as usize];
                let (start, end, size) = (mapping.start, mapping.end(), mapping.pages);
                match self.random.below(6) {
                    0 | 1 => (start, end - start),
                    2 => (start, PAGE_SIZE),
                    3 => (end - PAGE_SIZE, PAGE_SIZE),
                    4 => (start + pages(self.random.below(size)), pages(self.random.between(1, 3))),
                    _ => (start, pages(size + self.random.between(1, 4))),
                }
            }
            9 | 10 if count > 0 => {
                let first = self.random.below(count);
                let last = self.random.between(first, count - 1);
                let start = mappings[first as usize].start;
                (start, mappings[last as usize].end() - start)
            }
            11 => (
                MAP_ARENA + pages(self.random.below(256)),
                pages(self.random.between(1, 64)),
            ),
            12 => (MAP_ARENA, pages(self.random.between(1, 1 << 20))),
            // The null pages.
            13 => (pages(self.random.below(512)), pages(self.random.between(1, 16))),
            14 => {
                let address = self.random.pick(&FOREIGN);
                (address, self.map_length())
            }
            15 => (
                self.random.pick(&[USER_END, LAST_PAGE]),
                self.random.pick(&[PAGE_SIZE, pages(2), LAST_PAGE]),
            ),
            16 => {
                let address = self.aligned_address() + self.random.between(1, PAGE_SIZE - 1);
                (address, self.map_length())
            }
            17 => {
                let address = self.aligned_address();
                let len = self.random.pick(&[0, 1, PAGE_SIZE - 1, PAGE_SIZE + 1]);
                (address, len)
            }
            _ => {
                let address = self.map_address();
                (address, self.map_length())
            }
        };
        if self.range_is_safe(address, len) {
            return (address, len);
        }
        self.counts.confined += 1;
        let fallback = match self.some_mapping() {
            Some((start, end)) => (start, end - start),
            None => (MAP_ARENA, PAGE_SIZE),
        };
        if self.range_is_safe(fallback.0, fallback.1) {
            fallback
        } else {
            (USER_END, PAGE_SIZE)
        }
    }

    /// An address inside one of the fuzzer's mappings (the first byte of a
    /// page, one inside it, or a few bytes before its end), for buffers
    /// the kernel reads or writes there: pages not made yet, read-only
    /// pages, memory objects. `None` if it has no mapping.
    pub fn mapping_address(&mut self) -> Option<u64> {
        let (start, end) = self.some_mapping()?;
        let page = start + pages(self.random.below((end - start) / PAGE_SIZE));
        Some(match self.random.below(4) {
            0 => page,
            1 => page + self.random.below(PAGE_SIZE),
            2 => end - self.random.between(1, 128),
            _ => page + self.random.below(PAGE_SIZE / 8) * 8,
        })
    }
}
