//! A machine for the kernel core on the host: address spaces are maps from
//! page to frame, physical memory is a map from frame to bytes, and a switch
//! only records which thread is current. With it the core's own code (the
//! same `events`, `syscalls` and `ipc` the kernel runs) boots a manifest and
//! serves syscalls in a test.

#![allow(dead_code)]

use abi::initrd::Writer;
use abi::{Error, PAGE_SIZE};
use kernel_core::events::{self, Resume};
use kernel_core::kernel::Kernel;
use kernel_core::machine::{Machine, Published};
use kernel_core::physmem::{Frame, FrameSource};
use kernel_core::space::{AddressSpace, MapError, PageFlags};
use kernel_core::trapframe::{TrapFrame, UserSelectors};
use kernel_core::umem::{Access, FrameTarget, UserSlice, allows};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// An address space: user pages and the frames behind them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockSpace {
    root: Frame,
    pages: BTreeMap<u64, (Frame, PageFlags)>,
}

impl MockSpace {
    /// Frames this address space holds of its own: its root (its pages
    /// are counted by the kernel's regions).
    pub fn frames_held(&self) -> usize {
        1
    }

    /// The frames mapped, by page.
    pub fn pages(&self) -> impl Iterator<Item = (u64, Frame)> + '_ {
        self.pages.iter().map(|(virt, (frame, _))| (*virt, *frame))
    }
}

impl AddressSpace for MockSpace {
    fn new(frames: &mut impl FrameSource) -> Result<Self, MapError> {
        let root = frames.allocate().ok_or(MapError::NoMemory)?;
        Ok(MockSpace {
            root,
            pages: BTreeMap::new(),
        })
    }

    fn root(&self) -> u64 {
        self.root.address()
    }

    fn map(&mut self, virt: u64, frame: Frame, flags: PageFlags, _: &mut impl FrameSource) -> Result<(), MapError> {
        assert!(virt < abi::USER_END && virt.is_multiple_of(PAGE_SIZE));
        if self.pages.contains_key(&virt) {
            return Err(MapError::AlreadyMapped);
        }
        self.pages.insert(virt, (frame, flags));
        Ok(())
    }

    fn unmap(&mut self, virt: u64) -> Option<Frame> {
        self.pages.remove(&virt).map(|(frame, _)| frame)
    }

    fn protect(&mut self, virt: u64, flags: PageFlags) {
        if let Some(page) = self.pages.get_mut(&virt) {
            page.1 = flags;
        }
    }

    fn translate(&self, virt: u64) -> Option<(u64, PageFlags)> {
        let (frame, flags) = self.pages.get(&(virt & !(PAGE_SIZE - 1)))?;
        Some((frame.address() + virt % PAGE_SIZE, *flags))
    }

    fn destroy(self, frames: &mut impl FrameSource) {
        assert!(self.pages.is_empty(), "destroying an address space with pages mapped");
        frames.release(self.root);
    }
}

/// What a switch to a thread records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockSwitch {
    root: u64,
    io_ports: bool,
}

/// The host machine.
#[derive(Debug)]
pub struct MockMachine {
    published: Published,
    /// Bytes of every frame ever written (absent: zeros).
    memory: BTreeMap<u64, Box<[u8; PAGE_SIZE as usize]>>,
    /// The last switch: thread, frame top and what it wrote.
    pub switched: Option<(usize, MockSwitch)>,
    /// The root active now.
    pub active: u64,
    /// Trace bytes written.
    pub trace: Vec<u8>,
    /// Interrupt lines unmasked now.
    pub unmasked: Vec<usize>,
    /// The CPU the kernel runs on.
    pub cpu: usize,
    /// CPUs asked to pick again, one bit each.
    pub kicked: u8,
    /// CPUs whose next IPC prefers the lock (`set_ipc_prefers_lock`), one
    /// bit each.
    pub prefers_lock: u8,
    /// Entries since boot: the clock's fraction of a tick.
    clock: core::sync::atomic::AtomicU64,
}

/// The mock clock's units per tick.
pub const CLOCK_PER_TICK: u64 = 1000;

impl Clone for MockMachine {
    fn clone(&self) -> Self {
        let published = Published::new();
        published.ticks.store(self.published.ticks(), Ordering::Relaxed);
        published
            .abi_version
            .store(self.published.abi_version.load(Ordering::Relaxed), Ordering::Relaxed);
        published.tracing.store(self.published.tracing(), Ordering::Relaxed);
        published
            .quick_syscalls
            .store(self.published.quick_syscalls.load(Ordering::Relaxed), Ordering::Relaxed);
        MockMachine {
            published,
            memory: self.memory.clone(),
            switched: self.switched,
            active: self.active,
            trace: self.trace.clone(),
            unmasked: self.unmasked.clone(),
            cpu: self.cpu,
            kicked: self.kicked,
            prefers_lock: self.prefers_lock,
            clock: core::sync::atomic::AtomicU64::new(self.clock.load(Ordering::Relaxed)),
        }
    }
}

impl MockMachine {
    /// A machine with nothing written.
    pub const fn new() -> MockMachine {
        MockMachine {
            published: Published::new(),
            memory: BTreeMap::new(),
            switched: None,
            active: 0,
            trace: Vec::new(),
            unmasked: Vec::new(),
            cpu: 0,
            kicked: 0,
            prefers_lock: 0,
            clock: core::sync::atomic::AtomicU64::new(0),
        }
    }

    fn byte(&self, phys: u64) -> u8 {
        self.memory
            .get(&(phys & !(PAGE_SIZE - 1)))
            .map_or(0, |page| page[(phys % PAGE_SIZE) as usize])
    }

    fn set_byte(&mut self, phys: u64, value: u8) {
        let page = self
            .memory
            .entry(phys & !(PAGE_SIZE - 1))
            .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]));
        page[(phys % PAGE_SIZE) as usize] = value;
    }

    /// Every page ever written and its bytes (a page of zeroes counts as
    /// never written), to compare two machines by.
    pub fn memory(&self) -> Vec<(u64, Vec<u8>)> {
        self.memory
            .iter()
            .filter(|(_, bytes)| bytes.iter().any(|&b| b != 0))
            .map(|(&page, bytes)| (page, bytes.to_vec()))
            .collect()
    }

    /// Reads user memory of `space` the way ring 3 sees it (no checks).
    pub fn peek(&self, space: &MockSpace, address: u64, len: usize) -> Option<Vec<u8>> {
        (0..len as u64)
            .map(|i| space.translate(address + i).map(|(phys, _)| self.byte(phys)))
            .collect()
    }

    /// Writes user memory of `space` the way ring 3 would (no checks).
    pub fn poke(&mut self, space: &MockSpace, address: u64, bytes: &[u8]) {
        for (i, &byte) in bytes.iter().enumerate() {
            let (phys, _) = space.translate(address + i as u64).expect("poke into a mapped page");
            self.set_byte(phys, byte);
        }
    }

    fn copy(
        &mut self,
        from: &MockSpace,
        source: UserSlice,
        to: &MockSpace,
        destination: UserSlice,
        len: usize,
    ) -> Result<(), Error> {
        for i in 0..len as u64 {
            let (src, flags) = from.translate(source.address() + i).ok_or(Error::FAULT)?;
            if !allows(flags, Access::Read) {
                return Err(Error::FAULT);
            }
            let (dst, flags) = to.translate(destination.address() + i).ok_or(Error::FAULT)?;
            if !allows(flags, Access::Write) {
                return Err(Error::FAULT);
            }
            let byte = self.byte(src);
            self.set_byte(dst, byte);
        }
        Ok(())
    }
}

impl Default for MockMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine for MockMachine {
    type Space = MockSpace;
    type Switch = MockSwitch;
    const NO_SWITCH: MockSwitch = MockSwitch {
        root: 0,
        io_ports: false,
    };

    fn published(&self) -> &Published {
        &self.published
    }

    fn switch_target(&self, space: &MockSpace, io_ports: bool) -> MockSwitch {
        MockSwitch {
            root: space.root(),
            io_ports,
        }
    }

    fn switch_to(&mut self, thread: usize, _frame_top: usize, switch: &MockSwitch) {
        self.switched = Some((thread, *switch));
        self.active = switch.root;
    }

    fn switch_to_kernel(&mut self) {
        self.switched = None;
        self.active = 0;
    }

    fn user_frame(&self, entry: u64, stack: u64) -> TrapFrame {
        TrapFrame::new_user(entry, stack, UserSelectors { code: 0x23, data: 0x1b })
    }

    unsafe fn zero_frame(&mut self, frame: Frame) {
        self.memory.remove(&frame.address());
    }

    fn store_word(&mut self, frame: Frame, offset: usize, value: u64) {
        assert!(offset.is_multiple_of(8) && offset + 8 <= PAGE_SIZE as usize);
        for (i, &byte) in value.to_le_bytes().iter().enumerate() {
            self.set_byte(frame.address() + (offset + i) as u64, byte);
        }
    }

    fn irq_mask(&mut self, line: usize, masked: bool) {
        self.unmasked.retain(|&l| l != line);
        if !masked {
            self.unmasked.push(line);
        }
    }

    unsafe fn write_frame(&mut self, frame: Frame, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= PAGE_SIZE as usize);
        let page = self
            .memory
            .entry(frame.address())
            .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]));
        page[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn read_user(&mut self, space: &MockSpace, from: UserSlice, out: &mut [u8]) -> Result<(), Error> {
        assert_eq!(space.root(), self.active, "user copies touch the active address space");
        for (i, byte) in out.iter_mut().enumerate() {
            let (phys, _) = space.translate(from.address() + i as u64).ok_or(Error::FAULT)?;
            *byte = self.byte(phys);
        }
        Ok(())
    }

    fn write_user(&mut self, space: &MockSpace, to: UserSlice, data: &[u8]) -> Result<(), Error> {
        assert_eq!(space.root(), self.active, "user copies touch the active address space");
        for (i, &byte) in data.iter().enumerate() {
            let (phys, _) = space.translate(to.address() + i as u64).ok_or(Error::FAULT)?;
            self.set_byte(phys, byte);
        }
        Ok(())
    }

    fn transfer(
        &mut self,
        from: &MockSpace,
        source: UserSlice,
        to: &MockSpace,
        destination: UserSlice,
        len: usize,
    ) -> Result<(), Error> {
        assert!(
            from.root() == self.active || to.root() == self.active,
            "a transfer touches the active address space"
        );
        self.copy(from, source, to, destination, len)
    }

    unsafe fn copy_to_frames(&mut self, from: &MockSpace, source: UserSlice, to: FrameTarget) -> Result<(), Error> {
        assert_eq!(
            from.root(),
            self.active,
            "the fast path copies from the active address space"
        );
        assert!(source.len() <= to.capacity, "the fast path checked the bytes fit");
        for i in 0..source.len() {
            let (src, _) = from.translate(source.address() + i as u64).ok_or(Error::FAULT)?;
            let at = to.offset + i;
            let frame = to.frames[at / PAGE_SIZE as usize];
            assert_ne!(frame, 0, "a remembered buffer has its pages");
            let byte = self.byte(src);
            self.set_byte(frame + (at % PAGE_SIZE as usize) as u64, byte);
        }
        Ok(())
    }

    fn timestamp(&self) -> u64 {
        // Time passes with ticks, and a little with every entry between
        // them (never a whole tick's worth).
        let within = self.clock.fetch_add(1, Ordering::Relaxed) % (CLOCK_PER_TICK / 2);
        self.published.ticks() * CLOCK_PER_TICK + within
    }

    fn cpu(&self) -> usize {
        self.cpu
    }

    fn kick(&mut self, cpus: u8) {
        self.kicked |= cpus;
    }

    fn set_ipc_prefers_lock(&mut self, prefers: bool) {
        let bit = 1 << self.cpu;
        self.prefers_lock = if prefers {
            self.prefers_lock | bit
        } else {
            self.prefers_lock & !bit
        };
    }

    fn trace_write(&mut self, bytes: &[u8]) {
        self.trace.extend_from_slice(bytes);
    }
}

/// Writes `bytes` into `thread`'s memory at `address` the way ring 3 would
/// (no checks; the pages must be there).
pub fn poke_as(k: &mut Kernel<MockMachine>, thread: usize, address: u64, bytes: &[u8]) {
    let Kernel {
        machine,
        processes,
        threads,
        ..
    } = k;
    machine.poke(processes[threads[thread].process].space(), address, bytes);
}

/// The `len` bytes `thread` sees at `address` (the pages must be there).
pub fn peek_as(k: &Kernel<MockMachine>, thread: usize, address: u64, len: usize) -> Vec<u8> {
    k.machine
        .peek(k.process_of(thread).space(), address, len)
        .expect("peek at mapped pages")
}

/// Runs `test` on a thread with a stack big enough for the kernel state,
/// which debug builds move around by value.
pub fn on_big_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(test)
        .expect("a test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// Where the test programs are linked: one read-only, executable page.
pub const TEXT: u64 = 0x20_0000;

/// A minimal program image: one PT_LOAD segment of one page, R+X, at
/// [`TEXT`], entry at its start.
pub fn program_elf() -> Vec<u8> {
    let mut elf = vec![0u8; 0x1000 + 16];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf[6] = 1; // version
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&0x3eu16.to_le_bytes()); // x86_64
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    elf[24..32].copy_from_slice(&TEXT.to_le_bytes()); // entry
    elf[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    elf[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
    elf[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
    elf[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
    let ph = 64;
    elf[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes()); // R+X
    for (field, value) in [0x1000u64, TEXT, TEXT, 16, 16, 0x1000].into_iter().enumerate() {
        elf[ph + 8 + 8 * field..][..8].copy_from_slice(&value.to_le_bytes());
    }
    elf[0x1000..].copy_from_slice(&[0x90; 16]);
    elf
}

/// A kernel on the mock machine with `mib` MiB of memory, booted from the
/// kernel-format manifest `manifest` (every program file is
/// [`program_elf`]). Returns the kernel and how many programs started.
pub fn boot(manifest: &str, mib: u64) -> (Box<Kernel<MockMachine>>, usize) {
    let mut k = Box::new(Kernel::new(MockMachine::new()));
    k.frames.add_region(0x10_0000, 0x10_0000 + (mib << 20));
    let mut writer = Writer::new();
    writer.file(abi::manifest::FILE_NAME, 0o644, manifest.as_bytes());
    let elf = program_elf();
    for line in manifest.lines() {
        if let Some(file) = line.split_whitespace().find_map(|word| word.strip_prefix("file=")) {
            writer.file(file, 0o755, &elf);
        }
    }
    let initrd: &'static [u8] = Box::leak(writer.finish().into_boxed_slice());
    let rates = kernel_core::clock::Rates {
        tick_hz: 100,
        tsc_hz: 0,
        tsc_at_boot: 0,
        clock_per_tick: CLOCK_PER_TICK,
    };
    kernel_core::clock::make_time_page(&mut k, rates).expect("a frame for the time page");
    let started = kernel_core::image::start(&mut k, initrd).expect("the test image boots");
    (k, started)
}

/// Frames in use: the roots of live address spaces, the private pages they
/// map (an object's pages are counted with the object), and every page of
/// every live memory object.
pub fn frames_in_use(k: &Kernel<MockMachine>) -> usize {
    use kernel_core::regions::Backing;
    let mut used = 0;
    for process in k.processes.iter() {
        let Some(space) = process.space.as_ref() else { continue };
        used += space.frames_held();
        for (virt, _) in space.pages() {
            if virt == abi::time::TIME_PAGE {
                continue;
            }
            let region = process.regions.find(virt).expect("every mapped page lies in a region");
            if region.backing == Backing::Private {
                used += 1;
            }
        }
    }
    used + k.memory.pages() + usize::from(k.time_page.is_some())
}

/// Checks the kernel's invariants and the frame accounting: every frame is
/// free or in use by an address space or a memory object.
#[track_caller]
pub fn check(k: &Kernel<MockMachine>) {
    if let Err(broken) = k.check() {
        panic!("invariant broken: {broken}");
    }
    assert_eq!(
        k.frames.free_count() + frames_in_use(k),
        k.frames.total_count(),
        "every frame is free or in use by an address space or a memory object"
    );
}

/// The thread of the live process named `name`.
pub fn thread_of(k: &Kernel<MockMachine>, name: &str) -> usize {
    let process = k.processes.iter().position(|p| p.is_live() && p.name == name).unwrap();
    k.processes[process].thread
}

/// Schedules the first thread after boot, idling through ticks if need be.
pub fn first(k: &mut Kernel<MockMachine>) -> Resume {
    let resume = events::schedule(k);
    settle(k, resume)
}

/// Runs timer ticks until the CPU has a thread to run, or the run ends.
pub fn settle(k: &mut Kernel<MockMachine>, mut resume: Resume) -> Resume {
    let mut ticks = 0;
    while resume == Resume::Idle {
        resume = events::idle_tick(k);
        ticks += 1;
        assert!(ticks < 100_000, "idled forever");
    }
    resume
}
