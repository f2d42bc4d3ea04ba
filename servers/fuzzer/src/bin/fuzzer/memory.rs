//! What the fuzzer knows about its own memory beyond its image and stack:
//! every mapping it made (`mem_map`, `mem_map_object`) as the kernel keeps
//! it, split by `mem_unmap` and `mem_protect` exactly as the kernel splits
//! its regions, and every memory object it refers to (by a handle or a
//! mapping). From these follow the pages it uses against its memory limit
//! and the regions and objects it may still add, so the checks know
//! exactly which results each memory syscall may have.
//!
//! The memory limit is the ABI's (docs/abi.md, "Memory limits"): the image's
//! segments, the stack, private mappings when they are mapped, and each
//! memory object held or mapped, once. The region table (mappings, the
//! image's segments and the stack: ETABLEFULL beyond it) and the number of
//! objects a process may refer to at once are the kernel's, not the ABI's:
//! the fuzzer measures both when it starts (`Fuzzer::calibrate`).

use abi::PAGE_SIZE;
use abi::memory::Perms;

/// Mappings the model can hold: the kernel's region table holds 32,
/// including the image's segments and the stack.
pub const MAX_MAPPINGS: usize = 32;
/// Memory-object records: more than the objects a process may refer to.
pub const MAX_OBJECTS: usize = 64;

/// What backs a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Private pages, made zero on first touch.
    Private,
    /// Memory object `id` (its record in [`Objects`]) from its page
    /// `offset` on.
    Object { id: u8, offset: u64 },
}

/// One mapped range, as the kernel keeps it: page-aligned, the same
/// permissions and backing throughout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    /// Length in pages (at least 1).
    pub pages: u64,
    pub perms: Perms,
    /// The most `mem_protect` may give it: everything for private memory,
    /// what the handle's MAP_READ and MAP_WRITE allowed for an object.
    pub max: Perms,
    pub backing: Backing,
}

impl Mapping {
    pub fn end(&self) -> u64 {
        self.start + self.pages * PAGE_SIZE
    }

    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end()).contains(&address)
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end()
    }

    /// The part of it in `[start, end)`, which must overlap it.
    fn clip(&self, start: u64, end: u64) -> Mapping {
        let (from, to) = (self.start.max(start), self.end().min(end));
        let backing = match self.backing {
            Backing::Private => Backing::Private,
            Backing::Object { id, offset } => Backing::Object {
                id,
                offset: offset + (from - self.start) / PAGE_SIZE,
            },
        };
        Mapping {
            start: from,
            pages: (to - from) / PAGE_SIZE,
            backing,
            ..*self
        }
    }
}

/// A fixed-capacity list of mappings.
#[derive(Clone, Copy)]
pub struct List {
    items: [Mapping; MAX_MAPPINGS],
    len: usize,
}

impl List {
    const EMPTY: Mapping = Mapping {
        start: 0,
        pages: 0,
        perms: Perms::empty(),
        max: Perms::empty(),
        backing: Backing::Private,
    };

    pub const fn new() -> List {
        List {
            items: [List::EMPTY; MAX_MAPPINGS],
            len: 0,
        }
    }

    pub fn as_slice(&self) -> &[Mapping] {
        &self.items[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `mapping`; false when the list is full.
    fn push(&mut self, mapping: Mapping) -> bool {
        if self.len == MAX_MAPPINGS {
            return false;
        }
        self.items[self.len] = mapping;
        self.len += 1;
        true
    }
}

/// The fuzzer's mappings, sorted by address, never overlapping.
pub struct Mappings {
    list: List,
}

impl Mappings {
    pub const fn new() -> Mappings {
        Mappings { list: List::new() }
    }

    pub fn as_slice(&self) -> &[Mapping] {
        self.list.as_slice()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The mapping holding `address`.
    pub fn find(&self, address: u64) -> Option<&Mapping> {
        self.as_slice().iter().find(|m| m.contains(address))
    }

    /// Whether any mapping overlaps `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.as_slice().iter().any(|m| m.overlaps(start, end))
    }

    /// How many mappings overlap `[start, end)`.
    pub fn overlapping(&self, start: u64, end: u64) -> usize {
        self.as_slice().iter().filter(|m| m.overlaps(start, end)).count()
    }

    /// The lowest address at or above `from` where `pages` pages fit below
    /// `limit` without overlapping a mapping (the kernel's first fit: the
    /// only regions at or above the map arena are the fuzzer's mappings).
    pub fn gap(&self, from: u64, limit: u64, pages: u64) -> Option<u64> {
        let size = pages.checked_mul(PAGE_SIZE)?;
        let mut candidate = from;
        for mapping in self.as_slice() {
            if mapping.end() <= candidate {
                continue;
            }
            if mapping.start >= candidate.checked_add(size)? {
                break;
            }
            candidate = mapping.end();
        }
        (candidate.checked_add(size)? <= limit).then_some(candidate)
    }

    /// Adds a mapping that overlaps none; false when the list is full.
    pub fn insert(&mut self, mapping: Mapping) -> bool {
        if self.list.len() == MAX_MAPPINGS {
            return false;
        }
        let at = self
            .as_slice()
            .iter()
            .position(|m| m.start > mapping.start)
            .unwrap_or(self.list.len());
        let len = self.list.len;
        self.list.items.copy_within(at..len, at + 1);
        self.list.items[at] = mapping;
        self.list.len += 1;
        true
    }

    /// How many mappings there would be after `[start, end)` is removed.
    pub fn len_after_remove(&self, start: u64, end: u64) -> usize {
        self.as_slice()
            .iter()
            .map(|m| {
                if !m.overlaps(start, end) {
                    1
                } else {
                    usize::from(m.start < start) + usize::from(m.end() > end)
                }
            })
            .sum()
    }

    /// Removes `[start, end)` from every mapping it overlaps, splitting the
    /// ones it cuts, as the kernel does; returns the pieces removed. The
    /// caller checked that the result fits ([`Mappings::len_after_remove`]).
    pub fn remove(&mut self, start: u64, end: u64) -> List {
        let mut removed = List::new();
        let mut kept = List::new();
        for mapping in self.as_slice() {
            if !mapping.overlaps(start, end) {
                kept.push(*mapping);
                continue;
            }
            removed.push(mapping.clip(start, end));
            if mapping.start < start {
                kept.push(mapping.clip(mapping.start, start));
            }
            if mapping.end() > end {
                kept.push(mapping.clip(end, mapping.end()));
            }
        }
        self.list = kept;
        removed
    }

    /// Whether every page of `[start, end)` is mapped.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut covered = start;
        for mapping in self.as_slice().iter().filter(|m| m.overlaps(start, end)) {
            if mapping.start > covered {
                return false;
            }
            covered = mapping.end();
        }
        covered >= end
    }

    /// Whether `perms` exceeds the maximum of a mapping in `[start, end)`.
    pub fn exceeds_max(&self, start: u64, end: u64, perms: Perms) -> bool {
        self.as_slice()
            .iter()
            .any(|m| m.overlaps(start, end) && !m.max.contains(perms))
    }

    /// Gives `[start, end)` (all mapped, within every maximum, and with room
    /// for the splits) the permissions `perms`, splitting the mappings it
    /// cuts as the kernel does.
    pub fn protect(&mut self, start: u64, end: u64, perms: Perms) {
        let pieces = self.remove(start, end);
        for piece in pieces.as_slice() {
            self.insert(Mapping { perms, ..*piece });
        }
    }

    /// How many mappings show memory object `id`.
    pub fn mappings_of(&self, id: u8) -> usize {
        self.as_slice()
            .iter()
            .filter(|m| matches!(m.backing, Backing::Object { id: o, .. } if o == id))
            .count()
    }

    /// Pages of private memory mapped.
    pub fn private_pages(&self) -> u64 {
        self.as_slice()
            .iter()
            .filter(|m| m.backing == Backing::Private)
            .map(|m| m.pages)
            .sum()
    }
}

/// A memory object the fuzzer refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object {
    pub pages: u64,
    /// Whether it may hold anything but zeroes: it was mapped writable at
    /// some time (by the fuzzer: only writable pages can be written, by
    /// the fuzzer or by the kernel on its behalf, and no one else maps it).
    pub dirty: bool,
}

/// The memory objects the fuzzer refers to, by id. A record lives while
/// the fuzzer holds a handle to its object or maps it ([`Objects::collect`]).
pub struct Objects {
    list: [Option<Object>; MAX_OBJECTS],
}

impl Objects {
    pub const fn new() -> Objects {
        Objects {
            list: [None; MAX_OBJECTS],
        }
    }

    pub fn get(&self, id: u8) -> Option<Object> {
        self.list.get(id as usize).copied().flatten()
    }

    pub fn get_mut(&mut self, id: u8) -> Option<&mut Object> {
        self.list.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// Records a new object; `None` when every record is taken.
    pub fn add(&mut self, pages: u64) -> Option<u8> {
        let id = self.list.iter().position(Option::is_none)?;
        self.list[id] = Some(Object { pages, dirty: false });
        Some(id as u8)
    }

    /// Forgets every object `referred` says the fuzzer no longer refers to.
    pub fn collect(&mut self, referred: impl Fn(u8) -> bool) {
        for (id, slot) in self.list.iter_mut().enumerate() {
            if slot.is_some() && !referred(id as u8) {
                *slot = None;
            }
        }
    }

    /// How many objects the fuzzer refers to.
    pub fn count(&self) -> usize {
        self.list.iter().flatten().count()
    }

    /// Pages of all the objects the fuzzer refers to.
    pub fn pages(&self) -> u64 {
        self.list.iter().flatten().map(|o| o.pages).sum()
    }
}

/// Everything the fuzzer knows about its memory.
pub struct Memory {
    pub mappings: Mappings,
    pub objects: Objects,
    /// Its memory limit, in pages.
    pub limit: u64,
    /// Pages its image and stack use.
    pub base: u64,
    /// Mappings it may have at once (the kernel's region table, less the
    /// image's segments and the stack).
    pub region_room: usize,
    /// Memory objects it may refer to at once.
    pub object_room: usize,
    /// Memory handles it passed (or tried to) in replies to the pinger and
    /// victims, which may keep them: objects the kernel's object table may
    /// hold that the fuzzer does not refer to.
    pub given_away: u64,
    /// The last value written to check a page (each write uses a new one).
    pub stamp: u64,
    /// Whether the kernel did something the model cannot show (a violation
    /// was reported): memory results are no longer judged.
    pub unfollowed: bool,
}

impl Memory {
    pub const fn new(limit: u64, base: u64) -> Memory {
        Memory {
            mappings: Mappings::new(),
            objects: Objects::new(),
            limit,
            base,
            region_room: 0,
            object_room: 0,
            given_away: 0,
            stamp: 0x5eed_0000_0000_0000,
            unfollowed: false,
        }
    }

    /// Pages in use against the limit.
    pub fn used(&self) -> u64 {
        self.base + self.mappings.private_pages() + self.objects.pages()
    }

    /// Pages that may still be taken.
    pub fn room(&self) -> u64 {
        self.limit.saturating_sub(self.used())
    }

    /// Whether the region table is full.
    pub fn regions_full(&self) -> bool {
        self.mappings.len() >= self.region_room
    }

    /// A fresh value to write into a page.
    pub fn next_stamp(&mut self) -> u64 {
        self.stamp = self.stamp.wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.stamp
    }
}
