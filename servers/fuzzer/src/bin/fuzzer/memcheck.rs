//! Judging the memory syscalls against the fuzzer's model of its memory
//! (`crate::memory`): every error must be one the arguments and the model
//! explain, and a success needs that none does; a mapping must go exactly
//! where the ABI places it; its pages must read as zero (a new private
//! mapping, an object never mapped writable), be writable exactly when
//! WRITE was asked, and a memory object must show the same bytes through
//! every mapping; a page unmapped or made read-only must be refused to
//! `stats` (EFAULT). Then the model follows the call.
//!
//! The page checks touch only pages the model says are mapped (a word of
//! the first and the last page is enough); a page that must not be written
//! or is gone is never touched but handed to `stats`, which must fail with
//! EFAULT. Those `stats` calls, and the calls that measure and check the
//! memory limit ([`Fuzzer::check_limit`]), are probes: made with
//! well-formed arguments, counted apart from the fuzzed calls.

use crate::Fuzzer;
use crate::generate::Plan;
use crate::invoke::{Entry, Regs, invoke};
use crate::layout::STACK_PAGES;
use crate::memory::{Backing, MAX_MAPPINGS, Mapping};
use crate::model::{Held, Target};
use abi::handle::MAX_HANDLES;
use abi::memory::{MAP_ARENA, MAP_END, MAX_OBJECT_SIZE, Perms};
use abi::stats::Stats;
use abi::{Error, PAGE_SIZE, Rights, Syscall, USER_BASE, USER_END};

/// The kernel's table of memory objects, shared by all processes (not part
/// of the ABI: `microkernel/core/src/config.rs`). `mem_create` may find it
/// full when the pinger or victims keep objects the fuzzer passed them.
const KERNEL_OBJECTS: u64 = 64;

/// The results a memory syscall may have.
#[derive(Clone, Copy, Debug)]
struct Expect {
    /// Errors the arguments and the model explain, one bit per code.
    allowed: u32,
    /// Errors that may or may not happen (the model cannot tell): allowed,
    /// without making a success wrong.
    maybe: u32,
    /// When not 0: the only errors the ABI allows, whatever else applies.
    only: u32,
    /// Why another error breaks `only`.
    only_reason: &'static str,
    /// Where a mapping must go on success.
    address: u64,
}

const fn bit(error: Error) -> u32 {
    1 << (error as u32)
}

impl Expect {
    const NONE: Expect = Expect {
        allowed: 0,
        maybe: 0,
        only: 0,
        only_reason: "",
        address: 0,
    };

    fn allow(&mut self, error: Error) {
        self.allowed |= bit(error);
    }

    fn allows(&self, error: Error) -> bool {
        self.allowed & bit(error) != 0
    }

    /// Whatever else applies, only `errors` are right.
    fn restrict(&mut self, errors: &[Error], reason: &'static str) {
        let mask = errors.iter().fold(0, |mask, error| mask | bit(*error));
        if self.only == 0 {
            self.only_reason = reason;
            self.only = mask;
        } else {
            self.only &= mask;
        }
    }

    /// The first problem with `result`.
    fn judge(&self, result: Result<u64, Error>) -> Option<&'static str> {
        match result {
            Err(error) if self.only != 0 && self.only & bit(error) == 0 => Some(self.only_reason),
            Err(error) => (!self.allows(error) && self.maybe & bit(error) == 0).then(|| unexplained(error)),
            Ok(_) => Error::ALL
                .iter()
                .find(|error| self.allows(**error))
                .map(|error| unearned(*error)),
        }
    }
}

/// Why an error is wrong when the model explains none like it.
fn unexplained(error: Error) -> &'static str {
    match error {
        Error::INVAL => "EINVAL, but the range, length and permissions are valid",
        Error::EXIST => "EEXIST, but the range overlaps no mapping",
        Error::NOMEM => "ENOMEM, but the memory limit has room (and a free range fits)",
        Error::TABLEFULL => "ETABLEFULL, but the region, handle and object tables have room",
        Error::NORIGHTS => "ENORIGHTS, but the handle's rights and the mappings allow the permissions",
        Error::WRONGKIND => "EWRONGKIND, but the handle names a memory object",
        Error::BADHANDLE => "EBADHANDLE, but the handle is open",
        _ => "failed with an error the fuzzer's memory does not explain",
    }
}

/// Why a success is wrong when the model explains an error.
fn unearned(error: Error) -> &'static str {
    match error {
        Error::INVAL => "succeeded with an invalid range, length or permissions",
        Error::EXIST => "succeeded over a mapping",
        Error::NOMEM => "succeeded past the memory limit (or with no free range for it)",
        Error::TABLEFULL => "succeeded with the region, handle or object table full",
        Error::NORIGHTS => "succeeded with permissions beyond the handle's rights or a mapping's maximum",
        Error::WRONGKIND => "mapped a handle that names no memory object",
        Error::BADHANDLE => "succeeded with a handle that is not open",
        _ => "succeeded, but the fuzzer's memory explains an error",
    }
}

/// The permissions a memory handle's rights allow a mapping.
fn max_of(rights: Rights) -> Perms {
    let mut max = Perms::empty();
    if rights.contains(Rights::MAP_READ) {
        max |= Perms::READ;
    }
    if rights.contains(Rights::MAP_WRITE) {
        max |= Perms::WRITE;
    }
    max
}

/// `[address, address + len)` as a checked range of whole pages: aligned,
/// not empty, not wrapping, ending at or below `USER_END`.
fn page_range(address: u64, len: u64) -> Option<(u64, u64)> {
    if len == 0 || !address.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
        return None;
    }
    let end = address.checked_add(len)?;
    (end <= USER_END).then_some((address, end))
}

/// Reads the word at `address`.
///
/// # Safety
/// `address` is 8-byte aligned, in a mapping the model holds (every
/// mapping is readable), which is never the fuzzer's live data.
unsafe fn read_word(address: u64) -> u64 {
    let pointer = core::ptr::with_exposed_provenance::<u64>(address as usize);
    // SAFETY: the caller's contract; volatile, as the kernel may have
    // written the page in a syscall.
    unsafe { pointer.read_volatile() }
}

/// Writes the word at `address`.
///
/// # Safety
/// As for [`read_word`], and the mapping is writable.
unsafe fn write_word(address: u64, value: u64) {
    let pointer = core::ptr::with_exposed_provenance_mut::<u64>(address as usize);
    // SAFETY: the caller's contract.
    unsafe { pointer.write_volatile(value) }
}

impl Fuzzer {
    /// Whether `[address, address + len)` lies in memory the fuzzer lets
    /// the kernel write: its scratch pages and its writable mappings.
    pub fn writable(&self, address: u64, len: u64) -> bool {
        if self.layout.in_scratch(address, len) {
            return true;
        }
        let Some(end) = address.checked_add(len) else {
            return false;
        };
        let mut at = address;
        while at < end {
            let next = ((at & !(PAGE_SIZE - 1)) + PAGE_SIZE).min(end);
            let ok = self.layout.in_scratch(at, next - at)
                || self
                    .memory
                    .mappings
                    .find(at)
                    .is_some_and(|m| m.perms.contains(Perms::WRITE));
            if !ok {
                return false;
            }
            at = next;
        }
        true
    }

    /// The byte at `address` of the scratch pages or of one of the
    /// fuzzer's mappings; `None` elsewhere.
    pub fn read_byte(&self, address: u64) -> Option<u8> {
        if let Some([byte]) = self.layout.read_scratch::<1>(address) {
            return Some(byte);
        }
        self.memory.mappings.find(address)?;
        let pointer = core::ptr::with_exposed_provenance::<u8>(address as usize);
        // SAFETY: the model says a mapping of the fuzzer's (readable, as
        // every mapping is; never live data) holds `address`. Volatile: the
        // kernel may have written it.
        Some(unsafe { pointer.read_volatile() })
    }

    /// Makes a well-formed syscall to check the kernel (a probe, counted
    /// apart).
    ///
    /// # Safety
    /// Nothing the kernel may do for it touches the fuzzer's live data:
    /// `stats` into a page of one of its mappings, `mem_map` at 0,
    /// `mem_unmap` of a range [`Fuzzer::range_is_safe`] accepts,
    /// `mem_create` and `handle_close` of a memory handle.
    pub unsafe fn probe(&mut self, syscall: Syscall, rdi: u64, rsi: u64, rdx: u64) -> (Plan, Regs) {
        let plan = Plan {
            number: syscall as u64,
            syscall: Some(syscall),
            entry: Entry::Syscall,
            regs: Regs {
                rax: syscall as u64,
                rdi,
                rsi,
                rdx,
                ..Regs::default()
            },
            passed: None,
            name: None,
        };
        let mut after = plan.regs;
        // SAFETY: the caller's contract.
        unsafe { invoke(Entry::Syscall, &mut after) };
        self.counts.probes += 1;
        (plan, after)
    }

    /// `stats` into `page` (page-aligned, of a mapping the fuzzer made),
    /// which the fuzzer may not write: unmapped (`gone`), or mapped without
    /// WRITE. It must fail with EFAULT; a violation is reported otherwise.
    fn expect_fault(&mut self, page: u64, gone: bool) {
        // SAFETY: `stats` writes at most its 104 bytes into `page`, a page
        // of the fuzzer's mappings (or one it unmapped): never live data.
        let (plan, after) = unsafe { self.probe(Syscall::Stats, page, Stats::SIZE as u64, 0) };
        if after.rax != Error::FAULT.to_return() {
            let reason = match (Error::decode(after.rax), gone) {
                (Ok(_), true) => "stats wrote into a page the fuzzer unmapped",
                (Ok(_), false) => "stats wrote into a page mapped without WRITE",
                (Err(_), true) => "stats into a page the fuzzer unmapped did not fail with EFAULT",
                (Err(_), false) => "stats into a page mapped without WRITE did not fail with EFAULT",
            };
            self.violation(&plan, &after, reason);
        }
    }

    /// Checks a word of `page` (page-aligned, mapped by the model): it
    /// reads as zero if `zero`; if `writable`, a new value written there
    /// reads back; if not, `stats` may not write the page.
    fn check_page(&mut self, page: u64, writable: bool, zero: bool) -> Option<&'static str> {
        let word = page + 8 * self.random.below(PAGE_SIZE / 8);
        // SAFETY: `word` is aligned, in a page the model maps.
        if zero && unsafe { read_word(word) } != 0 {
            return Some("a page of a new mapping does not read as zero");
        }
        if writable {
            let stamp = self.memory.next_stamp();
            // SAFETY: as above; the model maps the page with WRITE.
            unsafe { write_word(word, stamp) };
            // SAFETY: as above.
            if unsafe { read_word(word) } != stamp {
                return Some("a word written into a writable mapping did not read back");
            }
        } else {
            self.expect_fault(page, false);
        }
        None
    }

    /// Brings the model's memory objects up to date after a handle was
    /// closed or a mapping removed: those the fuzzer no longer refers to
    /// are forgotten.
    pub fn forget_unreferred(&mut self) {
        let (model, mappings) = (&self.model, &self.memory.mappings);
        self.memory
            .objects
            .collect(|id| model.handles_to(id) > 0 || mappings.mappings_of(id) > 0);
    }

    /// Whether a mapping at `address` (not 0) of `len` bytes would cover a
    /// page of the fuzzer's image, its stack or the guard page.
    fn over_own(&self, address: u64, len: u64) -> bool {
        if address >= USER_END {
            return false;
        }
        let start = address & !(PAGE_SIZE - 1);
        let end = address.saturating_add(len.max(1)).min(USER_END);
        self.layout.touches_own(start, end)
    }

    /// Where a mapping of `pages` pages asked for at `address` goes, and
    /// the errors placing it may meet (`mem_map`, `mem_map_object`).
    fn expect_place(&self, expect: &mut Expect, address: u64, pages: u64) {
        if address == 0 {
            match self.memory.mappings.gap(MAP_ARENA, MAP_END, pages) {
                Some(at) => expect.address = at,
                None => expect.allow(Error::NOMEM),
            }
            return;
        }
        expect.address = address;
        let Some(end) = pages.checked_mul(PAGE_SIZE).and_then(|size| address.checked_add(size)) else {
            expect.allow(Error::INVAL);
            return;
        };
        if !address.is_multiple_of(PAGE_SIZE) || address < USER_BASE || end > MAP_END {
            expect.allow(Error::INVAL);
        }
        let stack = USER_END - STACK_PAGES * PAGE_SIZE;
        let over_image = self
            .layout
            .segments()
            .iter()
            .any(|&(from, to)| from < end && address < to);
        if self.memory.mappings.overlaps(address, end) || over_image || (address < USER_END && end > stack) {
            expect.allow(Error::EXIST);
        }
    }

    fn expect_map(&self, address: u64, len: u64, perms: u64) -> Expect {
        let mut expect = Expect::NONE;
        if Perms::check(perms).is_err() {
            expect.allow(Error::INVAL);
            expect.restrict(
                &[Error::INVAL],
                "mem_map with invalid permissions did not fail with EINVAL",
            );
        }
        if len == 0 || !len.is_multiple_of(PAGE_SIZE) {
            expect.allow(Error::INVAL);
        } else {
            let pages = len / PAGE_SIZE;
            self.expect_place(&mut expect, address, pages);
            if self.memory.regions_full() {
                expect.allow(Error::TABLEFULL);
            }
            if pages > self.memory.room() {
                expect.allow(Error::NOMEM);
            }
        }
        if address != 0 && self.over_own(address, len) {
            expect.restrict(
                &[Error::EXIST, Error::INVAL],
                "a mapping over the fuzzer's image or stack failed with neither EEXIST nor EINVAL",
            );
        }
        expect
    }

    fn expect_map_object(&self, handle: u64, address: u64, perms: u64) -> Expect {
        let mut expect = Expect::NONE;
        let Some(held) = self.model.get(handle) else {
            expect.allow(Error::BADHANDLE);
            return expect;
        };
        let id = match held.target {
            Target::Memory(id) => id,
            // Never generated: the kind of the object is not known.
            Target::Foreign => {
                expect.allowed = u32::MAX;
                return expect;
            }
            _ => {
                expect.allow(Error::WRONGKIND);
                expect.restrict(
                    &[Error::WRONGKIND],
                    "mem_map_object of an endpoint handle did not fail with EWRONGKIND",
                );
                return expect;
            }
        };
        let Some(object) = self.memory.objects.get(id) else {
            expect.allowed = u32::MAX;
            return expect;
        };
        match Perms::check(perms).ok().filter(|perms| !perms.contains(Perms::EXEC)) {
            None => {
                expect.allow(Error::INVAL);
                expect.restrict(
                    &[Error::INVAL],
                    "mem_map_object with invalid permissions or EXEC did not fail with EINVAL",
                );
            }
            Some(perms) if !max_of(held.rights).contains(perms) => expect.allow(Error::NORIGHTS),
            Some(_) => {}
        }
        self.expect_place(&mut expect, address, object.pages);
        if self.memory.regions_full() {
            expect.allow(Error::TABLEFULL);
        }
        if address != 0 && self.over_own(address, object.pages * PAGE_SIZE) {
            expect.restrict(
                &[Error::EXIST, Error::INVAL, Error::NORIGHTS],
                "mem_map_object over the fuzzer's image or stack failed with neither EEXIST nor EINVAL",
            );
        }
        expect
    }

    fn expect_unmap(&self, address: u64, len: u64) -> Expect {
        let mut expect = Expect::NONE;
        match page_range(address, len) {
            None => expect.allow(Error::INVAL),
            Some((start, end)) => {
                if self.memory.mappings.len_after_remove(start, end) > self.memory.region_room {
                    expect.allow(Error::TABLEFULL);
                }
            }
        }
        expect
    }

    fn expect_protect(&self, address: u64, len: u64, perms: u64) -> Expect {
        let mut expect = Expect::NONE;
        let valid = Perms::check(perms).ok();
        if valid.is_none() {
            expect.allow(Error::INVAL);
            expect.restrict(
                &[Error::INVAL],
                "mem_protect with invalid permissions did not fail with EINVAL",
            );
        }
        match page_range(address, len) {
            None => expect.allow(Error::INVAL),
            Some((start, end)) => {
                let mappings = &self.memory.mappings;
                if !mappings.covers(start, end) {
                    expect.allow(Error::INVAL);
                }
                if valid.is_some_and(|perms| mappings.exceeds_max(start, end, perms)) {
                    expect.allow(Error::NORIGHTS);
                }
                if mappings.len_after_remove(start, end) + mappings.overlapping(start, end) > self.memory.region_room {
                    expect.allow(Error::TABLEFULL);
                }
            }
        }
        expect
    }

    /// Whether the kernel's table of memory objects may be full for all
    /// this fuzzer's world knows: the objects it refers to and those the
    /// pinger and victims may keep (the other fuzzers running at once
    /// aside).
    pub fn object_table_may_be_full(&self) -> bool {
        self.memory.objects.count() as u64 + self.memory.given_away >= KERNEL_OBJECTS
    }

    fn expect_create(&self, len: u64) -> Expect {
        let mut expect = Expect::NONE;
        if len == 0 || !len.is_multiple_of(PAGE_SIZE) || len > MAX_OBJECT_SIZE {
            expect.allow(Error::INVAL);
            return expect;
        }
        let objects = self.memory.objects.count();
        if self.model.is_full() || objects >= self.memory.object_room {
            expect.allow(Error::TABLEFULL);
        }
        // The kernel's table of objects holds those the pinger and victims
        // may still keep, and those of the other fuzzers running at once.
        if self.instances > 1 || self.object_table_may_be_full() {
            expect.maybe |= bit(Error::TABLEFULL);
        }
        if len / PAGE_SIZE > self.memory.room() {
            expect.allow(Error::NOMEM);
        }
        expect
    }

    /// What a memory syscall's arguments and the model allow.
    fn expect(&self, plan: &Plan) -> Expect {
        let regs = &plan.regs;
        match plan.syscall {
            Some(Syscall::MemMap) => self.expect_map(regs.rdi, regs.rsi, regs.rdx),
            Some(Syscall::MemMapObject) => self.expect_map_object(regs.rdi, regs.rsi, regs.rdx),
            Some(Syscall::MemUnmap) => self.expect_unmap(regs.rdi, regs.rsi),
            Some(Syscall::MemProtect) => self.expect_protect(regs.rdi, regs.rsi, regs.rdx),
            Some(Syscall::MemCreate) => self.expect_create(regs.rdi),
            _ => Expect::NONE,
        }
    }

    /// A memory syscall failed with `error` (one its table entry lists).
    pub fn memory_failed(&mut self, plan: &Plan, error: Error) -> Option<&'static str> {
        if self.memory.unfollowed {
            return None;
        }
        self.expect(plan).judge(Err(error))
    }

    /// A memory syscall succeeded with `value`: checks it, brings the model
    /// up to date with what the kernel says it did (even when it should
    /// have failed, as far as the model can show it), and checks what it
    /// mapped or changed.
    pub fn memory_succeeded(&mut self, plan: &Plan, value: u64) -> Option<&'static str> {
        let expect = self.expect(plan);
        let problem = if self.memory.unfollowed {
            None
        } else {
            expect.judge(Ok(value))
        };
        // Pages are checked only after a success the model expected.
        let check = problem.is_none() && !self.memory.unfollowed;
        let regs = &plan.regs;
        let found = match plan.syscall? {
            Syscall::MemMap => {
                let pages = regs.rsi / PAGE_SIZE;
                let perms = Perms::from_bits_truncate(regs.rdx);
                self.mapped(
                    value,
                    expect.address,
                    pages,
                    perms,
                    Perms::all(),
                    Backing::Private,
                    check,
                )
            }
            Syscall::MemMapObject => match self.model.get(regs.rdi).map(|held| (held, held.target)) {
                Some((held, Target::Memory(id))) if self.memory.objects.get(id).is_some() => {
                    let pages = self.memory.objects.get(id).map_or(0, |object| object.pages);
                    let perms = Perms::from_bits_truncate(regs.rdx);
                    let backing = Backing::Object { id, offset: 0 };
                    self.mapped(value, expect.address, pages, perms, max_of(held.rights), backing, check)
                }
                _ => {
                    self.lose_track();
                    None
                }
            },
            Syscall::MemUnmap | Syscall::MemProtect => match page_range(regs.rdi, regs.rsi) {
                Some((start, end)) if plan.syscall == Some(Syscall::MemUnmap) => {
                    self.unmapped(start, end, check);
                    None
                }
                Some((start, end)) => self.protected(start, end, Perms::from_bits_truncate(regs.rdx), check),
                None => {
                    self.lose_track();
                    None
                }
            },
            Syscall::MemCreate => self.created(value, regs.rdi / PAGE_SIZE),
            _ => None,
        };
        problem.or(found)
    }

    /// The kernel did something the model cannot show (a violation was
    /// reported): the memory syscalls are no longer judged nor made, and the
    /// checks that need the model are skipped.
    pub fn lose_track(&mut self) {
        if !self.memory.unfollowed {
            let index = self.index;
            self.say(format_args!(
                "fuzz: call {index}: the memory model lost track of the kernel; memory syscalls stop"
            ));
        }
        self.memory.unfollowed = true;
        for syscall in [
            Syscall::MemMap,
            Syscall::MemUnmap,
            Syscall::MemProtect,
            Syscall::MemCreate,
            Syscall::MemMapObject,
        ] {
            self.weights[syscall as usize] = 0;
        }
    }

    /// A mapping of `pages` pages succeeded at `start`: the model follows,
    /// then (with `check`) where it went and its pages are checked.
    #[allow(clippy::too_many_arguments)]
    fn mapped(
        &mut self,
        start: u64,
        expected: u64,
        pages: u64,
        perms: Perms,
        max: Perms,
        backing: Backing,
        check: bool,
    ) -> Option<&'static str> {
        let end = start.saturating_add(pages * PAGE_SIZE);
        if !start.is_multiple_of(PAGE_SIZE) || start < USER_BASE || end > MAP_END {
            self.lose_track();
            return Some("returned a mapping outside [USER_BASE, MAP_END) or not page-aligned");
        }
        if self.memory.mappings.overlaps(start, end) || self.layout.touches_own(start, end) {
            self.lose_track();
            return Some("returned a mapping over one of the fuzzer's mappings or its image");
        }
        let mapping = Mapping {
            start,
            pages,
            perms,
            max,
            backing,
        };
        if !self.memory.mappings.insert(mapping) {
            self.lose_track();
            return Some("mapped more than the region table holds");
        }
        if !check {
            return None;
        }
        if start != expected {
            return Some("mapped somewhere else than asked, or than the lowest free range at or above MAP_ARENA");
        }
        let writable = perms.contains(Perms::WRITE);
        let last = end - PAGE_SIZE;
        let Backing::Object { id, .. } = backing else {
            return self.check_page(start, writable, true).or_else(|| {
                if pages > 1 {
                    self.check_page(last, writable, true)
                } else {
                    None
                }
            });
        };
        let object = self.memory.objects.get(id)?;
        let problem = match self.other_mapping(id, start) {
            Some((here, there, other)) => self.compare_mappings(here, writable, there, other),
            // Its first mapping: never written, it holds zeroes.
            None if !object.dirty => {
                let word = 8 * self.random.below(PAGE_SIZE / 8);
                // SAFETY: both words lie in pages of the new mapping.
                let zero = unsafe { read_word(start + word) == 0 && read_word(last + word) == 0 };
                (!zero).then_some("a page of a new memory object does not read as zero")
            }
            None => None,
        };
        if writable && let Some(object) = self.memory.objects.get_mut(id) {
            object.dirty = true;
        }
        problem.or_else(|| self.check_page(start, writable, false))
    }

    /// Another mapping of object `id` than the one at `new`: a page of
    /// the object shown by both, as (its address in the new mapping, its
    /// address in the other, the other mapping).
    fn other_mapping(&self, id: u8, new: u64) -> Option<(u64, u64, Mapping)> {
        let other = *self
            .memory
            .mappings
            .as_slice()
            .iter()
            .find(|m| m.start != new && matches!(m.backing, Backing::Object { id: o, .. } if o == id))?;
        let Backing::Object { offset, .. } = other.backing else {
            return None;
        };
        Some((new + offset * PAGE_SIZE, other.start, other))
    }

    /// Two mappings of one memory object show the same bytes: a word
    /// written through a writable one reads back through the other, or
    /// (neither writable) both read the same.
    fn compare_mappings(&mut self, here: u64, writable: bool, there: u64, other: Mapping) -> Option<&'static str> {
        let word = 8 * self.random.below(PAGE_SIZE / 8);
        let (here, there) = (here + word, there + word);
        let other_writable = other.perms.contains(Perms::WRITE);
        let (to, from) = match (writable, other_writable) {
            (true, _) => (here, there),
            (false, true) => (there, here),
            (false, false) => {
                // SAFETY: both words lie in pages the model maps.
                let same = unsafe { read_word(here) == read_word(there) };
                return (!same).then_some("two mappings of a memory object show different bytes");
            }
        };
        let stamp = self.memory.next_stamp();
        // SAFETY: `to` lies in a page the model maps with WRITE, `from` in
        // one it maps.
        let seen = unsafe {
            write_word(to, stamp);
            read_word(from)
        };
        (seen != stamp).then_some("a word written through one mapping of a memory object did not show through another")
    }

    /// `[start, end)` was unmapped: the model follows, and (with `check`)
    /// a page that was mapped must now be refused.
    fn unmapped(&mut self, start: u64, end: u64, check: bool) {
        let removed = self.memory.mappings.remove(start, end);
        self.forget_unreferred();
        let pieces = removed.as_slice();
        if check && !pieces.is_empty() {
            let piece = pieces[self.random.below(pieces.len() as u64) as usize];
            let page = piece.start + PAGE_SIZE * self.random.below(piece.pages);
            self.expect_fault(page, true);
        }
    }

    /// `[start, end)` got `perms`: the model follows (objects mapped
    /// writable may hold anything from now on), and (with `check`) the
    /// first page must be writable exactly when `perms` has WRITE.
    fn protected(&mut self, start: u64, end: u64, perms: Perms, check: bool) -> Option<&'static str> {
        let writable = perms.contains(Perms::WRITE);
        let mut ids = [None; MAX_MAPPINGS];
        for (slot, mapping) in ids.iter_mut().zip(self.memory.mappings.as_slice()) {
            if let Backing::Object { id, .. } = mapping.backing
                && mapping.start < end
                && start < mapping.end()
            {
                *slot = Some(id);
            }
        }
        for id in ids.into_iter().flatten() {
            if let Some(object) = self.memory.objects.get_mut(id)
                && writable
            {
                object.dirty = true;
            }
        }
        self.memory.mappings.protect(start, end, perms);
        if !check {
            return None;
        }
        self.check_page(start, writable, false)
    }

    /// `mem_create` returned `value`: a new handle to a new object.
    fn created(&mut self, value: u64, pages: u64) -> Option<&'static str> {
        let full = self.model.is_full();
        let Some(id) = self.memory.objects.add(pages) else {
            self.lose_track();
            return Some("created more memory objects than the fuzzer can refer to");
        };
        let complaint = self.model.add(Held {
            value,
            target: Target::Memory(id),
            rights: Rights::MAP_READ | Rights::MAP_WRITE | Rights::TRANSFER,
            badge: 0,
        });
        if full {
            return Some("created a handle in a full handle table");
        }
        complaint
    }

    /// Checks the memory limit: a private mapping one page larger than the
    /// model's room fails with ENOMEM, one of exactly the room succeeds
    /// where the ABI places it (it is unmapped at once). Skipped when the
    /// region table is full. Reports violations itself.
    pub fn check_limit(&mut self) {
        if self.memory.regions_full() || self.memory.unfollowed {
            return;
        }
        let room = self.memory.room();
        let read = Perms::READ.bits();
        // SAFETY: `mem_map` at 0 places a mapping where nothing is mapped.
        let (plan, after) = unsafe { self.probe(Syscall::MemMap, 0, (room + 1) * PAGE_SIZE, read) };
        if after.rax != Error::NOMEM.to_return() {
            self.violation(
                &plan,
                &after,
                "a mapping one page larger than the memory limit leaves did not fail with ENOMEM",
            );
            if let Ok(address) = Error::decode(after.rax) {
                self.take_back(address, (room + 1) * PAGE_SIZE);
            }
            return;
        }
        if room == 0 {
            return;
        }
        let expected = self.memory.mappings.gap(MAP_ARENA, MAP_END, room);
        // SAFETY: as above.
        let (plan, after) = unsafe { self.probe(Syscall::MemMap, 0, room * PAGE_SIZE, read) };
        match Error::decode(after.rax) {
            Ok(address) => {
                if Some(address) != expected {
                    self.violation(&plan, &after, "a mapping at 0 did not go to the lowest free range");
                }
                self.take_back(address, room * PAGE_SIZE);
            }
            Err(_) => self.violation(
                &plan,
                &after,
                "a mapping of exactly what the memory limit leaves failed",
            ),
        }
    }

    /// Unmaps a probe's mapping at `[address, address + len)`, unless that
    /// would touch the fuzzer's own pages or its mappings (the kernel put it
    /// where it should not have: the model can no longer follow).
    fn take_back(&mut self, address: u64, len: u64) {
        let end = address.saturating_add(len);
        if !self.range_is_safe(address, len) || self.memory.mappings.overlaps(address, end) {
            self.lose_track();
            return;
        }
        // SAFETY: the range holds none of the fuzzer's pages (checked).
        let (plan, after) = unsafe { self.probe(Syscall::MemUnmap, address, len, 0) };
        if after.rax != 0 {
            self.lose_track();
            self.violation(&plan, &after, "unmapping a probe's mapping failed");
        }
    }

    /// Measures, before fuzzing, what the model cannot know from the ABI:
    /// how many mappings the kernel's region table takes besides the
    /// image's segments and the stack (one-page mappings at 0 until
    /// ETABLEFULL, which must go one after the other from MAP_ARENA), and
    /// how many memory objects a process may refer to (one-page objects
    /// until ETABLEFULL). Everything made is taken back; then the memory
    /// limit is checked. An error if the kernel's tables are larger than
    /// the fuzzer can measure.
    pub fn calibrate(&mut self) -> Result<(), &'static str> {
        self.memory.region_room = MAX_MAPPINGS;
        let read = Perms::READ.bits();
        let mut mapped = 0u64;
        loop {
            if mapped as usize == MAX_MAPPINGS {
                return Err("the kernel's region table takes more mappings than the fuzzer's model");
            }
            // SAFETY: `mem_map` at 0 places a mapping where nothing is mapped.
            let (plan, after) = unsafe { self.probe(Syscall::MemMap, 0, PAGE_SIZE, read) };
            match Error::decode(after.rax) {
                Ok(address) => {
                    if address != MAP_ARENA + mapped * PAGE_SIZE {
                        self.violation(&plan, &after, "a mapping at 0 did not go to the lowest free range");
                        self.lose_track();
                        return Ok(());
                    }
                    self.memory.mappings.insert(Mapping {
                        start: address,
                        pages: 1,
                        perms: Perms::READ,
                        max: Perms::all(),
                        backing: Backing::Private,
                    });
                    mapped += 1;
                }
                Err(code) if code == Error::TABLEFULL as u64 => break,
                Err(_) => {
                    self.violation(&plan, &after, "a one-page mapping at 0 failed, but not with ETABLEFULL");
                    self.lose_track();
                    return Ok(());
                }
            }
        }
        self.memory.region_room = mapped as usize;
        self.memory.mappings.remove(MAP_ARENA, MAP_ARENA + mapped * PAGE_SIZE);
        self.take_back(MAP_ARENA, mapped * PAGE_SIZE);

        let free_handles = MAX_HANDLES - self.model.count();
        let mut created = [0u64; MAX_HANDLES];
        let mut count = 0;
        loop {
            if count == free_handles {
                return Err("the handle table filled before the kernel's limit of memory objects");
            }
            // SAFETY: `mem_create` takes an integer only.
            let (plan, after) = unsafe { self.probe(Syscall::MemCreate, PAGE_SIZE, 0, 0) };
            match Error::decode(after.rax) {
                Ok(handle) => {
                    created[count] = handle;
                    count += 1;
                }
                Err(code) if code == Error::TABLEFULL as u64 => break,
                Err(_) => {
                    self.violation(
                        &plan,
                        &after,
                        "a one-page memory object failed, but not with ETABLEFULL",
                    );
                    break;
                }
            }
        }
        self.memory.object_room = count;
        for &handle in &created[..count] {
            // SAFETY: closing a memory handle touches no memory.
            let (plan, after) = unsafe { self.probe(Syscall::HandleClose, handle, 0, 0) };
            if after.rax != 0 {
                self.violation(&plan, &after, "closing a new memory handle failed");
            }
            // Remembered as stale handles.
            self.model.add(Held {
                value: handle,
                target: Target::Foreign,
                rights: Rights::empty(),
                badge: 0,
            });
            self.model.remove(handle);
        }
        self.check_limit();
        Ok(())
    }

    /// Takes back everything the fuzzer mapped and every memory handle it
    /// holds (each must succeed), then checks that the whole memory limit
    /// is free again but for the image and the stack.
    pub fn release_memory(&mut self) {
        while let Some(&mapping) = self.memory.mappings.as_slice().first() {
            let len = mapping.pages * PAGE_SIZE;
            // SAFETY: a mapping of the model's holds none of the fuzzer's
            // own pages (`Fuzzer::mapped` checked it).
            let (plan, after) = unsafe { self.probe(Syscall::MemUnmap, mapping.start, len, 0) };
            if after.rax != 0 {
                self.violation(
                    &plan,
                    &after,
                    "unmapping one of the fuzzer's mappings at the end failed",
                );
            }
            self.memory.mappings.remove(mapping.start, mapping.end());
        }
        let mut handles = [None; MAX_HANDLES];
        for (slot, held) in handles.iter_mut().zip(self.model.iter()) {
            *slot = matches!(held.target, Target::Memory(_)).then_some(held);
        }
        for held in handles.into_iter().flatten() {
            // SAFETY: closing a memory handle touches no memory.
            let (plan, after) = unsafe { self.probe(Syscall::HandleClose, held.value, 0, 0) };
            if after.rax != 0 {
                self.violation(
                    &plan,
                    &after,
                    "closing one of the fuzzer's memory handles at the end failed",
                );
            }
            self.model.remove(held.value);
        }
        self.forget_unreferred();
        self.check_limit();
    }
}
