//! Physical memory: page frames and the allocator that hands them out, a
//! bitmap over the first `CAPACITY` frames built from the boot memory map.
//! No kernel heap: the bitmap is a fixed array, and frames are handed out one
//! at a time or as aligned contiguous runs.
//!
//! Frames given back known to hold only zeroes (the page tables of an
//! address space that ends empty) wait in a small pool of their own, so that
//! the next page table is made without clearing a page (512 `rep stosq`
//! steps each). They count as free: a frame of the pool is handed out like
//! any other when the bitmap has none left.

pub use abi::PAGE_SIZE;

/// A physical frame number times [`PAGE_SIZE`]: a page-aligned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame(u64);

impl Frame {
    /// The frame containing `address`.
    pub const fn containing(address: u64) -> Frame {
        Frame(address & !(PAGE_SIZE - 1))
    }

    /// Physical address of the frame's first byte (page-aligned).
    pub const fn address(self) -> u64 {
        self.0
    }

    /// Frame number: the address divided by [`PAGE_SIZE`].
    pub const fn number(self) -> usize {
        (self.0 / PAGE_SIZE) as usize
    }
}

/// Why a frame could not be freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The frame is outside the memory the allocator manages.
    NotManaged,
    /// The frame is already free.
    DoubleFree,
}

/// Tracks which of the first `WORDS * 64` frames are free (bit set) and which
/// are in use or not RAM (bit clear).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameAllocator<const WORDS: usize> {
    free_bits: [u64; WORDS],
    /// Frames that were ever added as usable RAM; a frame outside this set can
    /// never be freed.
    managed_bits: [u64; WORDS],
    free: usize,
    total: usize,
    /// Index of the lowest word that may have a free bit.
    hint: usize,
    /// Free frames known to hold only zeroes, kept out of the bitmap (their
    /// bits stay clear) and counted in `free`.
    zeroed: heapless::Vec<Frame, ZEROED_FRAMES>,
}

/// Zeroed frames the allocator keeps apart at most: more than the page
/// tables of one address space with its image, stack and a few mappings.
pub const ZEROED_FRAMES: usize = 16;

impl<const WORDS: usize> FrameAllocator<WORDS> {
    /// Frames the allocator can describe.
    pub const CAPACITY: usize = WORDS * 64;

    /// An allocator with no memory.
    pub const fn new() -> Self {
        Self {
            free_bits: [0; WORDS],
            managed_bits: [0; WORDS],
            free: 0,
            total: 0,
            hint: 0,
            zeroed: heapless::Vec::new(),
        }
    }

    /// Adds the whole frames inside `[start, end)` as free RAM. Frames beyond
    /// the capacity are ignored; the return value says how many were added.
    /// Works a bitmap word (64 frames) at a time: at boot the whole of RAM
    /// goes through here, and frame by frame that was over a million
    /// instructions for 256 MiB.
    pub fn add_region(&mut self, start: u64, end: u64) -> usize {
        let first = start.div_ceil(PAGE_SIZE) as usize;
        let last = ((end / PAGE_SIZE).min(Self::CAPACITY as u64) as usize).max(first);
        // The whole words inside the range: when none of their frames is
        // managed yet (at boot, always), they are filled without looking at
        // each word's bits (about 8 instructions a word, not 50).
        let (inner_first, inner_last) = (first.div_ceil(64), last / 64);
        let mut added = 0;
        let (mut edge_first, mut edge_last) = (first, last);
        if inner_first < inner_last
            && self.managed_bits[inner_first..inner_last]
                .iter()
                .fold(0, |seen, word| seen | word)
                == 0
        {
            self.managed_bits[inner_first..inner_last].fill(u64::MAX);
            self.free_bits[inner_first..inner_last].fill(u64::MAX);
            added += (inner_last - inner_first) * 64;
            added += self.add_frames(first, inner_first * 64);
            (edge_first, edge_last) = (inner_last * 64, last);
        }
        added += self.add_frames(edge_first, edge_last);
        self.free += added;
        self.total += added;
        self.hint = 0;
        added
    }

    /// Marks frames `first..last` managed and free, a word at a time; how
    /// many were not managed before.
    fn add_frames(&mut self, first: usize, last: usize) -> usize {
        let mut added = 0;
        for (word, mask, bits) in words(first, last) {
            let old = self.managed_bits[word] & mask;
            self.managed_bits[word] |= mask;
            self.free_bits[word] |= mask & !old;
            // The kernel's target has no popcnt (count_ones is a dozen
            // instructions): the common case, none managed yet, is `bits`.
            added += if old == 0 {
                bits
            } else {
                (mask & !old).count_ones() as usize
            };
        }
        added
    }

    /// Marks every frame overlapping `[start, end)` as in use (kernel image,
    /// initrd, boot data). Returns how many free frames it took.
    pub fn reserve(&mut self, start: u64, end: u64) -> usize {
        let first = start / PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE).min(Self::CAPACITY as u64);
        let mut taken = 0;
        for (word, mask, bits) in words(first as usize, last as usize) {
            let free = self.free_bits[word] & mask;
            taken += match free {
                0 => 0,
                _ if free == mask => bits,
                _ => free.count_ones() as usize,
            };
            self.free_bits[word] &= !mask;
        }
        self.free -= taken;
        taken
    }

    /// Takes one free frame, the lowest available (one of the zeroed pool
    /// once the bitmap has none).
    pub fn alloc(&mut self) -> Option<Frame> {
        for word in self.hint..WORDS {
            let bits = self.free_bits[word];
            if bits != 0 {
                let index = bits.trailing_zeros() as usize;
                self.free_bits[word] &= !(1 << index);
                self.free -= 1;
                self.hint = word;
                return Some(Frame((word * 64 + index) as u64 * PAGE_SIZE));
            }
        }
        self.hint = WORDS;
        self.pop_zeroed()
    }

    /// Takes a frame of the zeroed pool. Its bit must still be clear: one
    /// set means the frame was also freed to the bitmap while it waited
    /// (a double free that `free` does not look for, to stay O(1)), and
    /// handing it out could give it to two owners.
    fn pop_zeroed(&mut self) -> Option<Frame> {
        let frame = self.zeroed.pop()?;
        let (word, bit) = split(frame.number());
        assert!(
            self.free_bits[word] & bit == 0,
            "a frame of the zeroed pool was freed again"
        );
        self.free -= 1;
        Some(frame)
    }

    /// Takes one free frame that holds only zeroes if the pool has one
    /// (`true`: no need to clear it), else any free frame (`false`).
    pub fn alloc_zeroed(&mut self) -> Option<(Frame, bool)> {
        match self.pop_zeroed() {
            Some(frame) => Some((frame, true)),
            None => self.alloc().map(|frame| (frame, false)),
        }
    }

    /// Returns an allocated frame that holds only zeroes: into the zeroed
    /// pool while it has room, else to the bitmap like [`free`](Self::free).
    /// The same checks as `free` apply (a frame already free, in the pool
    /// or not, is refused).
    pub fn free_zeroed(&mut self, frame: Frame) -> Result<(), FreeError> {
        self.allocated(frame)?;
        if self.zeroed.contains(&frame) {
            return Err(FreeError::DoubleFree);
        }
        match self.zeroed.push(frame) {
            Ok(()) => {
                self.free += 1;
                Ok(())
            }
            Err(frame) => self.free(frame),
        }
    }

    /// Takes `count` contiguous free frames (a memory object's), from the
    /// top of memory down so that runs and single frames (taken from the
    /// bottom up) meet as late as possible. Returns the lowest frame of the
    /// run.
    pub fn alloc_run(&mut self, count: usize) -> Option<Frame> {
        if count == 0 || count > self.free {
            return None;
        }
        // Free frames found so far, going down, in a run that ends (one past
        // its top) at frame `end`.
        let (mut run, mut end) = (0usize, 0usize);
        for word in (0..WORDS).rev() {
            let bits = self.free_bits[word];
            if bits == 0 {
                run = 0;
                continue;
            }
            for bit in (0..64).rev() {
                let number = word * 64 + bit;
                if bits & (1 << bit) == 0 {
                    run = 0;
                    continue;
                }
                if run == 0 {
                    end = number + 1;
                }
                run += 1;
                if run == count {
                    let start = end - count;
                    for taken in start..end {
                        let (word, bit) = split(taken);
                        self.free_bits[word] &= !bit;
                    }
                    self.free -= count;
                    return Some(Frame(start as u64 * PAGE_SIZE));
                }
            }
        }
        None
    }

    /// Returns a run of `count` frames starting at `first` to the pool.
    pub fn free_run(&mut self, first: Frame, count: usize) -> Result<(), FreeError> {
        for index in 0..count as u64 {
            self.free(Frame(first.address() + index * PAGE_SIZE))?;
        }
        Ok(())
    }

    /// The bitmap word and bit of `frame`, if it is managed RAM and not free
    /// in the bitmap.
    fn allocated(&self, frame: Frame) -> Result<(usize, u64), FreeError> {
        let number = frame.number();
        if number >= Self::CAPACITY {
            return Err(FreeError::NotManaged);
        }
        let (word, bit) = split(number);
        if self.managed_bits[word] & bit == 0 {
            return Err(FreeError::NotManaged);
        }
        if self.free_bits[word] & bit != 0 {
            return Err(FreeError::DoubleFree);
        }
        Ok((word, bit))
    }

    /// Returns a frame to the pool.
    pub fn free(&mut self, frame: Frame) -> Result<(), FreeError> {
        let (word, bit) = self.allocated(frame)?;
        self.free_bits[word] |= bit;
        self.free += 1;
        self.hint = self.hint.min(word);
        Ok(())
    }

    /// Frames currently free (those of the zeroed pool included).
    pub fn free_count(&self) -> usize {
        self.free
    }

    /// Frames of usable RAM the allocator manages, free or not.
    pub fn total_count(&self) -> usize {
        self.total
    }
}

/// Where page frames come from and go back to (page tables take their
/// frames from one).
pub trait FrameSource {
    /// A frame, not necessarily zeroed.
    fn allocate(&mut self) -> Option<Frame>;
    /// Gives a frame back. Releasing a frame that is not allocated is a
    /// kernel bug and panics.
    fn release(&mut self, frame: Frame);
    /// A frame and whether it is known to hold only zeroes (else the caller
    /// clears it). By default never known.
    fn allocate_zeroed(&mut self) -> Option<(Frame, bool)> {
        self.allocate().map(|frame| (frame, false))
    }
    /// Gives back a frame that holds only zeroes, so that it may be handed
    /// out again without clearing. By default the same as `release`.
    fn release_zeroed(&mut self, frame: Frame) {
        self.release(frame);
    }
}

impl<const WORDS: usize> FrameSource for FrameAllocator<WORDS> {
    fn allocate(&mut self) -> Option<Frame> {
        self.alloc()
    }

    fn release(&mut self, frame: Frame) {
        if let Err(error) = self.free(frame) {
            panic!("freeing frame {:#x}: {error:?}", frame.address());
        }
    }

    fn allocate_zeroed(&mut self) -> Option<(Frame, bool)> {
        self.alloc_zeroed()
    }

    fn release_zeroed(&mut self, frame: Frame) {
        if let Err(error) = self.free_zeroed(frame) {
            panic!("freeing zeroed frame {:#x}: {error:?}", frame.address());
        }
    }
}

impl<const WORDS: usize> Default for FrameAllocator<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

const fn split(number: usize) -> (usize, u64) {
    (number / 64, 1 << (number % 64))
}

/// The bitmap words that frames `first..last` touch, each with the mask of
/// its bits in the range and how many they are (nothing when `last <=
/// first`).
fn words(first: usize, last: usize) -> impl Iterator<Item = (usize, u64, usize)> {
    let words = if last > first {
        first / 64..last.div_ceil(64)
    } else {
        0..0
    };
    words.map(move |word| {
        let low = first.max(word * 64) - word * 64;
        let high = last.min(word * 64 + 64) - word * 64;
        let below_high = if high == 64 { u64::MAX } else { (1u64 << high) - 1 };
        (word, below_high & (u64::MAX << low), high - low)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_come_from_the_top_and_go_back() {
        let mut frames = FrameAllocator::<4>::new();
        frames.add_region(0, 256 * PAGE_SIZE);
        let single = frames.alloc().unwrap();
        assert_eq!(single.number(), 0);
        let run = frames.alloc_run(70).unwrap();
        assert_eq!(run.number(), 256 - 70);
        assert_eq!(frames.free_count(), 256 - 71);
        // A hole in the middle of the free space splits it: a run too long
        // for either half fails, one that fits takes the upper half.
        frames.reserve(100 * PAGE_SIZE, 101 * PAGE_SIZE);
        assert_eq!(frames.alloc_run(120), None);
        assert_eq!(frames.alloc_run(80).unwrap().number(), 186 - 80);
        assert_eq!(frames.alloc_run(99).unwrap().number(), 1);
        assert_eq!(frames.free_count(), 5);
        frames.free_run(run, 70).unwrap();
        assert_eq!(frames.free_count(), 75);
        assert_eq!(frames.free_run(run, 1), Err(FreeError::DoubleFree));
        assert_eq!(frames.alloc_run(0), None);
    }

    #[test]
    fn zeroed_frames_come_back_first_and_count_as_free() {
        let mut frames = FrameAllocator::<1>::new();
        frames.add_region(0, 4 * PAGE_SIZE);
        let (a, known) = frames.alloc_zeroed().unwrap();
        assert!(!known, "a frame of the bitmap is not known to be zero");
        let b = frames.alloc().unwrap();
        frames.free_zeroed(a).unwrap();
        assert_eq!(frames.free_count(), 3);
        // Given back to the pool twice: refused.
        assert_eq!(frames.free_zeroed(a), Err(FreeError::DoubleFree));
        assert_eq!(frames.alloc_zeroed(), Some((a, true)));
        frames.free_zeroed(a).unwrap();
        // Once the bitmap is empty, `alloc` hands out the pool's frames.
        let rest: Vec<Frame> = core::iter::from_fn(|| frames.alloc()).collect();
        assert_eq!(rest.len(), 3);
        assert_eq!(rest.last(), Some(&a));
        assert_eq!(frames.free_count(), 0);
        for frame in rest.into_iter().chain([b]) {
            frames.free(frame).unwrap();
        }
        assert_eq!(frames.free_count(), 4);
        // A full pool sends the frame to the bitmap.
        let mut big = FrameAllocator::<2>::new();
        big.add_region(0, 128 * PAGE_SIZE);
        let taken: Vec<Frame> = (0..ZEROED_FRAMES + 1).map(|_| big.alloc().unwrap()).collect();
        for &frame in &taken {
            big.free_zeroed(frame).unwrap();
        }
        assert_eq!(big.free_count(), 128);
        let known = (0..ZEROED_FRAMES + 1).filter(|_| big.alloc_zeroed().unwrap().1).count();
        assert_eq!(known, ZEROED_FRAMES);
    }

    type Small = FrameAllocator<4>; // 256 frames = 1 MiB

    #[test]
    fn word_masks_cover_exactly_the_range() {
        assert_eq!(words(0, 0).count(), 0);
        assert_eq!(words(5, 3).count(), 0);
        assert_eq!(words(0, 64).collect::<Vec<_>>(), [(0, u64::MAX, 64)]);
        assert_eq!(words(3, 5).collect::<Vec<_>>(), [(0, 0b11000, 2)]);
        assert_eq!(
            words(62, 130).collect::<Vec<_>>(),
            [(0, 0b11 << 62, 2), (1, u64::MAX, 64), (2, 0b11, 2)]
        );
        assert_eq!(words(64, 65).collect::<Vec<_>>(), [(1, 1, 1)]);
        for (first, last) in [(0, 1), (7, 300), (63, 64), (64, 192), (1, 1000)] {
            for (_, mask, bits) in words(first, last) {
                assert_eq!(mask.count_ones() as usize, bits);
            }
        }
    }

    /// The word-at-a-time `add_region` and `reserve` against the same
    /// operations done one frame at a time, over many ranges.
    #[test]
    fn regions_and_reservations_match_frame_by_frame() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _ in 0..1000 {
            let mut frames = Small::new();
            let mut managed = [false; 256];
            let mut free = [false; 256];
            for step in 0..8 {
                let start = next(300 * PAGE_SIZE);
                let end = start + next(200 * PAGE_SIZE);
                let (first, last, expected) = if step % 3 == 2 {
                    let first = start / PAGE_SIZE;
                    let last = end.div_ceil(PAGE_SIZE).min(256);
                    let taken = (first..last.max(first)).filter(|&n| free[n as usize]).count();
                    (first, last, taken)
                } else {
                    let first = start.div_ceil(PAGE_SIZE);
                    let last = (end / PAGE_SIZE).min(256);
                    let added = (first..last.max(first)).filter(|&n| !managed[n as usize]).count();
                    (first, last, added)
                };
                for n in first..last.max(first) {
                    if step % 3 == 2 {
                        free[n as usize] = false;
                    } else if !managed[n as usize] {
                        managed[n as usize] = true;
                        free[n as usize] = true;
                    }
                }
                let done = if step % 3 == 2 {
                    frames.reserve(start, end)
                } else {
                    frames.add_region(start, end)
                };
                assert_eq!(done, expected, "step {step}: {start:#x}..{end:#x}");
                assert_eq!(frames.free_count(), free.iter().filter(|&&f| f).count());
                assert_eq!(frames.total_count(), managed.iter().filter(|&&m| m).count());
            }
            for number in 0..256 {
                let frame = Frame(number as u64 * PAGE_SIZE);
                let expected = match (managed[number], free[number]) {
                    (false, _) => Err(FreeError::NotManaged),
                    (true, true) => Err(FreeError::DoubleFree),
                    (true, false) => Ok(()),
                };
                assert_eq!(frames.clone().free(frame), expected, "frame {number}");
            }
        }
    }

    #[test]
    fn regions_are_trimmed_to_whole_frames() {
        let mut frames = Small::new();
        assert_eq!(frames.add_region(0x1001, 0x5fff), 3); // frames 2, 3, 4
        assert_eq!(frames.free_count(), 3);
        assert_eq!(frames.alloc(), Some(Frame(0x2000)));
        assert_eq!(frames.add_region(0x10_000, 0x10_000), 0);
        assert_eq!(frames.add_region(0x20_000, 0x10_000), 0); // inverted
    }

    #[test]
    fn capacity_bounds_the_map() {
        let mut frames = Small::new();
        assert_eq!(frames.add_region(0, u64::MAX), 256);
        assert_eq!(frames.total_count(), 256);
        assert_eq!(frames.add_region(0, 0x1000), 0, "adding twice counts once");
    }

    #[test]
    fn reserve_takes_partial_frames() {
        let mut frames = Small::new();
        frames.add_region(0, 0x10_000);
        assert_eq!(frames.reserve(0x1fff, 0x3001), 3); // frames 1, 2, 3
        assert_eq!(frames.free_count(), 13);
        assert_eq!(frames.alloc(), Some(Frame(0)));
        assert_eq!(frames.alloc(), Some(Frame(0x4000)));
    }

    #[test]
    fn alloc_until_empty_then_free() {
        let mut frames = Small::new();
        frames.add_region(0, 0x4000);
        let taken: Vec<_> = core::iter::from_fn(|| frames.alloc()).collect();
        assert_eq!(taken.len(), 4);
        assert_eq!(frames.alloc(), None);
        assert_eq!(frames.free(taken[2]), Ok(()));
        assert_eq!(frames.free(taken[2]), Err(FreeError::DoubleFree));
        assert_eq!(frames.alloc(), Some(taken[2]));
        assert_eq!(frames.free(Frame(0x80_000)), Err(FreeError::NotManaged));
        assert_eq!(frames.free(Frame::containing(u64::MAX)), Err(FreeError::NotManaged));
    }

    #[test]
    fn frames_that_are_not_ram_cannot_be_freed() {
        let mut frames = Small::new();
        frames.add_region(0x10_000, 0x20_000);
        assert_eq!(frames.free(Frame(0x1000)), Err(FreeError::NotManaged));
        assert_eq!(frames.free_count(), 16);
    }
}
