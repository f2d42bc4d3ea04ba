//! The kernel's state: every thread, process, endpoint and frame, in one
//! [`Kernel`] value.
//!
//! The kernel binary keeps the one `Kernel` in a static and lends it out
//! through its state accessor (which refuses re-entry); everything here and
//! in the modules above reaches state through a borrow of it, but for the
//! IPC fast path in shared mode, which reaches single slots by pointer
//! ([`Kernel::thread_shared`] and its siblings; see
//! `crate::ipc::fastpath`). A thread's saved registers are its first field:
//! the entry stubs save into the current thread's frame through the per-CPU
//! block (which points at it), and the kernel reaches any frame through
//! [`Kernel::frame`] and [`Kernel::frame_mut`].

use crate::config::{
    FRAME_WORDS, MAX_CPUS, MAX_ENDPOINTS, MAX_MEMORY_OBJECTS, MAX_NOTIFICATIONS, MAX_PROCESS_RECORDS, MAX_PROCESSES,
    MAX_THREADS,
};
use crate::handles::{HandleTable, Object};
use crate::ipc::message::{Outgoing, Sender};
use crate::ipc::state::{Ipc, IpcState};
use crate::irq::IrqLines;
use crate::machine::Machine;
use crate::memory::MemoryObjects;
use crate::physmem::{Frame, FrameAllocator};
use crate::quota::Quota;
use crate::records::Records;
use crate::regions::{Backing, Regions};
use crate::sched::{RunState, Scheduler};
use crate::trapframe::TrapFrame;
use crate::umem::CheckedBuffers;
use abi::manifest::{MAX_ENDPOINTS as MANIFEST_ENDPOINTS, MAX_NAME, Manifest};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use heapless::String;

/// A thread: its saved registers and what it sends. Its run state is the
/// scheduler's ([`Scheduler`]), its IPC state the IPC module's ([`Ipc`]).
///
/// 16-byte aligned: the end of its frame is where the CPU pushes an
/// interrupt frame from ring 3 (TSS.RSP0), and the CPU aligns that stack
/// to 16 bytes first, so an unaligned frame would be filled 8 bytes off.
#[repr(C, align(16))]
pub struct Thread<M: Machine> {
    /// The saved registers. First, so that the frame's address is the
    /// thread's (the entry stubs write it while the thread is current).
    pub frame: TrapFrame,
    /// Index of its process.
    pub process: usize,
    /// The message it sends while queued or awaiting a reply.
    pub outgoing: Outgoing,
    /// Badge of the handle it sends through.
    pub badge: u64,
    /// What switching to it needs (its address space, its I/O rights),
    /// computed when it starts so a switch needs no lookup.
    pub switch: M::Switch,
    /// Its buffers as last checked, for the fast path (forgotten when its
    /// process's mappings change).
    pub buffers: CheckedBuffers,
    /// Tracing: the syscall whose exit record is still to be written.
    pub traced_syscall: Option<u64>,
    /// Tracing: pid of the process its last message went to or came from.
    pub traced_peer: u32,
}

impl<M: Machine> Thread<M> {
    /// An unused slot.
    pub const FREE: Thread<M> = Thread {
        frame: TrapFrame::ZERO,
        process: 0,
        outgoing: Outgoing::Message,
        badge: 0,
        switch: M::NO_SWITCH,
        buffers: CheckedBuffers::NONE,
        traced_syscall: None,
        traced_peer: 0,
    };
}

/// A process: an address space, a handle table, and its threads.
pub struct Process<M: Machine> {
    /// 0 when the slot is free.
    pub pid: u32,
    /// Its name in the manifest.
    pub name: String<MAX_NAME>,
    /// The name packed into two message words (`abi::console::pack_name`),
    /// as every forwarded write and notice carries it.
    pub name_words: [u64; 2],
    /// Index of its program in the boot manifest.
    pub program: usize,
    /// Its address space (`None` once it has ended).
    pub space: Option<M::Space>,
    /// Its handles.
    pub handles: HandleTable,
    /// What is mapped where in its address space.
    pub regions: Regions,
    /// The memory it may use and uses.
    pub memory: Quota,
    /// Private pages of its mappings that are made (the others are made on
    /// first touch).
    pub resident: u64,
    /// May use the I/O ports the manifest grants (the serial port).
    pub io_serial: bool,
    /// Its first thread (after it ends, another of its threads): the one
    /// that carries the exit notice.
    pub thread: usize,
    /// Threads it has now (a zombie's: 1).
    pub threads: u32,
    /// Threads it may have at once (the manifest's `threads`).
    pub thread_limit: u32,
    /// Clock time charged to its threads that are gone (see
    /// [`crate::process::cpu_time`] for the whole).
    pub cpu_retired: u64,
    /// Ticks after which the kernel kills it; 0: no limit.
    pub cpu_limit: u64,
    /// The record its process handles name, if any handle does.
    pub record: Option<usize>,
}

impl<M: Machine> Process<M> {
    /// An unused slot.
    pub const FREE: Process<M> = Process {
        pid: 0,
        name: String::new(),
        name_words: [0; 2],
        program: 0,
        space: None,
        handles: HandleTable::new(),
        regions: Regions::new(),
        memory: Quota::new(0),
        resident: 0,
        io_serial: false,
        thread: 0,
        threads: 0,
        thread_limit: 0,
        cpu_retired: 0,
        cpu_limit: 0,
        record: None,
    };

    /// Whether the slot holds a process (running, or a zombie whose notice
    /// waits).
    pub fn is_live(&self) -> bool {
        self.pid != 0
    }

    /// Its address space; only a process that has ended has none.
    pub fn space(&self) -> &M::Space {
        self.space.as_ref().expect("a running process has an address space")
    }

    /// Pages of its private mappings, made or not.
    pub fn private_pages(&self) -> u64 {
        self.regions
            .iter()
            .filter(|r| r.backing == Backing::Private)
            .map(|r| r.pages)
            .sum()
    }

    /// Who it is, as kernel-composed messages name it.
    pub fn sender(&self) -> Sender {
        Sender {
            pid: self.pid,
            name_words: self.name_words,
        }
    }
}

/// The boot image: the manifest read from the initrd, and what it names.
#[derive(Clone, Debug)]
pub struct BootImage {
    /// The kernel-format manifest.
    pub manifest: Manifest<'static>,
    /// Kernel endpoint slot of each manifest endpoint.
    pub endpoints: [usize; MANIFEST_ENDPOINTS],
    /// Each manifest program's ELF file in the initrd (`None`: not there),
    /// found once at boot so that a spawn does not search the archive.
    pub files: [Option<&'static [u8]>; abi::manifest::MAX_PROGRAMS],
}

/// Switches set on the kernel command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Report the first ring-3 syscall (the build tool's KVM probe).
    pub probe: bool,
}

/// Counters reported by the `stats` syscall (with the quick path's count in
/// [`crate::machine::Published`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Processes started since boot.
    pub spawned: u64,
    /// Syscalls served by the dispatcher (and the IPC fast path with the
    /// kernel to itself).
    pub syscalls: u64,
    /// Syscalls the IPC fast path served in shared mode, per CPU: each CPU
    /// counts its own, with no other CPU touching the count.
    pub shared_syscalls: [u64; MAX_CPUS],
    /// Whether the first ring-3 syscall has been reported (`probe`).
    pub probe_reported: bool,
}

/// All kernel state.
pub struct Kernel<M: Machine> {
    /// The machine under the kernel.
    pub machine: M,
    /// Thread slots.
    pub threads: [Thread<M>; MAX_THREADS],
    /// Process slots.
    pub processes: [Process<M>; MAX_PROCESSES],
    /// Run states and ready queues.
    pub sched: Scheduler<MAX_THREADS>,
    /// Endpoints, notifications and each thread's IPC state.
    pub ipc: Ipc<MAX_THREADS, MAX_ENDPOINTS, MAX_NOTIFICATIONS>,
    /// What process handles name.
    pub records: Records<MAX_PROCESS_RECORDS>,
    /// Interrupt lines.
    pub irqs: IrqLines,
    /// The frame of the time page (`abi::time`), mapped read-only into
    /// every process; `None` until boot makes it.
    pub time_page: Option<Frame>,
    /// Clock time (the machine's timestamp) of one timer tick.
    pub clock_per_tick: u64,
    /// Memory objects.
    pub memory: MemoryObjects<MAX_MEMORY_OBJECTS>,
    /// Physical memory.
    pub frames: FrameAllocator<FRAME_WORDS>,
    /// The pid the next process gets.
    pub next_pid: u32,
    /// The boot image, once read.
    pub image: Option<BootImage>,
    /// Endpoint that receives exit and fault notices.
    pub notices: Option<usize>,
    /// Command-line switches.
    pub options: Options,
    /// Counters for `stats`.
    pub counters: Counters,
    /// The claims the IPC fast path takes on endpoints in shared mode.
    pub claims: EndpointClaims<MAX_ENDPOINTS>,
}

/// One flag per endpoint: set while a CPU's IPC fast path works on it in
/// shared mode (`crate::ipc::fastpath`), so that two CPUs never do at once.
/// A CPU that finds it set declines to the kernel's exclusive path.
pub struct EndpointClaims<const E: usize>([AtomicBool; E]);

impl<const E: usize> EndpointClaims<E> {
    /// Nothing claimed.
    pub const fn new() -> Self {
        EndpointClaims([const { AtomicBool::new(false) }; E])
    }

    /// Claims `endpoint` if no other CPU has; whether it did.
    #[inline(always)]
    pub fn try_claim(&self, endpoint: usize) -> bool {
        !self.0[endpoint % E].swap(true, Ordering::Acquire)
    }

    /// Gives up the claim of `endpoint`.
    #[inline(always)]
    pub fn release(&self, endpoint: usize) {
        self.0[endpoint % E].store(false, Ordering::Release);
    }
}

impl<const E: usize> Default for EndpointClaims<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Machine> Clone for Thread<M> {
    fn clone(&self) -> Self {
        Thread { ..*self }
    }
}

impl<M: Machine> Clone for Process<M>
where
    M::Space: Clone,
{
    fn clone(&self) -> Self {
        Process {
            name: self.name.clone(),
            space: self.space.clone(),
            handles: self.handles.clone(),
            regions: self.regions.clone(),
            memory: self.memory.clone(),
            ..*self
        }
    }
}

/// A copy of the whole kernel, for tests that run two paths from one state
/// and compare where they end.
impl<M: Machine + Clone> Clone for Kernel<M>
where
    M::Space: Clone,
{
    fn clone(&self) -> Self {
        Kernel {
            machine: self.machine.clone(),
            threads: self.threads.clone(),
            processes: self.processes.clone(),
            sched: self.sched.clone(),
            ipc: self.ipc.clone(),
            records: self.records.clone(),
            irqs: self.irqs.clone(),
            memory: self.memory.clone(),
            frames: self.frames.clone(),
            image: self.image.clone(),
            // Claims are held only inside one fast path, never between
            // steps: a copy starts with none.
            claims: EndpointClaims::new(),
            ..*self
        }
    }
}

impl<M: Machine> Kernel<M> {
    /// A kernel with no memory, no processes and no endpoints.
    pub const fn new(machine: M) -> Kernel<M> {
        Kernel {
            machine,
            threads: [const { Thread::FREE }; MAX_THREADS],
            processes: [const { Process::FREE }; MAX_PROCESSES],
            sched: Scheduler::new(),
            ipc: Ipc::new(),
            records: Records::new(),
            irqs: IrqLines::new(),
            time_page: None,
            clock_per_tick: 1,
            memory: MemoryObjects::new(),
            frames: FrameAllocator::new(),
            next_pid: 1,
            image: None,
            notices: None,
            options: Options { probe: false },
            claims: EndpointClaims::new(),
            counters: Counters {
                spawned: 0,
                syscalls: 0,
                shared_syscalls: [0; MAX_CPUS],
                probe_reported: false,
            },
        }
    }

    /// Thread `thread`. Thread numbers are in range by construction; the
    /// mask (the table size is a power of two) lets hot paths skip the
    /// bounds check.
    #[inline(always)]
    pub fn thread(&self, thread: usize) -> &Thread<M> {
        &self.threads[thread % MAX_THREADS]
    }

    /// Thread `thread`, to change.
    #[inline(always)]
    pub fn thread_mut(&mut self, thread: usize) -> &mut Thread<M> {
        &mut self.threads[thread % MAX_THREADS]
    }

    /// The saved registers of `thread`.
    #[inline(always)]
    pub fn frame(&self, thread: usize) -> &TrapFrame {
        &self.thread(thread).frame
    }

    /// The saved registers of `thread`, to change.
    #[inline(always)]
    pub fn frame_mut(&mut self, thread: usize) -> &mut TrapFrame {
        &mut self.thread_mut(thread).frame
    }

    /// Where `thread`'s frame ends: what the entry stubs save below.
    #[inline(always)]
    pub fn frame_top(&self, thread: usize) -> usize {
        core::ptr::from_ref(self.frame(thread)) as usize + TrapFrame::SIZE
    }

    /// Thread `thread` without borrowing the kernel (the IPC fast path in
    /// shared mode).
    ///
    /// # Safety
    /// `this` points at a live kernel, and nothing else refers to that
    /// thread's slot while the reference lives.
    #[inline(always)]
    pub unsafe fn thread_shared<'a>(this: *mut Self, thread: usize) -> &'a mut Thread<M> {
        // SAFETY: per the contract.
        unsafe { &mut (*this).threads[thread % MAX_THREADS] }
    }

    /// Process `process` without borrowing the kernel.
    ///
    /// # Safety
    /// `this` points at a live kernel, and nothing changes that process's
    /// slot while the reference lives (in shared mode only the kernel to
    /// itself changes processes).
    #[inline(always)]
    pub unsafe fn process_shared<'a>(this: *const Self, process: usize) -> &'a Process<M> {
        // SAFETY: per the contract.
        unsafe { &(*this).processes[process % MAX_PROCESSES] }
    }

    /// The machine, without borrowing the kernel.
    ///
    /// # Safety
    /// `this` points at a live kernel, and no other CPU uses the machine
    /// through it meanwhile, or the machine keeps nothing in it (the x86
    /// machine is zero-sized: its state is per CPU, behind GS).
    #[inline(always)]
    pub unsafe fn machine_shared<'a>(this: *mut Self) -> &'a mut M {
        // SAFETY: per the contract.
        unsafe { &mut (*this).machine }
    }

    /// The process that owns `thread`.
    #[inline(always)]
    pub fn process_of(&self, thread: usize) -> &Process<M> {
        &self.processes[self.thread(thread).process % MAX_PROCESSES]
    }

    /// The process that owns `thread`, to change.
    #[inline(always)]
    pub fn process_of_mut(&mut self, thread: usize) -> &mut Process<M> {
        let process = self.thread(thread).process % MAX_PROCESSES;
        &mut self.processes[process]
    }

    /// Timer ticks since boot.
    #[inline(always)]
    pub fn now(&self) -> u64 {
        self.machine.published().ticks()
    }

    /// Whether trace records are written.
    #[inline(always)]
    pub fn tracing(&self) -> bool {
        self.machine.published().tracing()
    }

    /// Checks the invariants that tie the tables together, after any
    /// syscall, tick or fault: the scheduler's and the IPC state machine's
    /// own ([`Scheduler::check`], [`Ipc::check`]); a thread slot is in use
    /// exactly when its process is; a blocked thread waits in IPC and a
    /// ready or running one does not; a zombie waits only to send its
    /// notice; and every endpoint counts exactly the handles that name it
    /// (plus the kernel's own reference to each manifest endpoint). Returns
    /// the first that does not hold.
    pub fn check(&self) -> Result<(), &'static str> {
        self.sched.check()?;
        self.ipc.check()?;
        for (index, thread) in self.threads.iter().enumerate() {
            let run = self.sched.state(index);
            if run == RunState::Free {
                continue;
            }
            let process = &self.processes[thread.process];
            if !process.is_live() {
                return Err("a thread in use belongs to a live process");
            }
            let ipc = self.ipc.state(index);
            match run {
                RunState::Blocked if ipc == IpcState::Idle => return Err("a blocked thread waits in IPC"),
                RunState::Ready | RunState::Running if ipc != IpcState::Idle => {
                    return Err("a thread that runs or is ready does not wait in IPC");
                }
                RunState::Zombie => {
                    if process.space.is_some() || !process.handles.is_empty() {
                        return Err("a zombie holds no memory and no handles");
                    }
                    if process.thread != index || process.threads != 1 {
                        return Err("a zombie is its process's one thread");
                    }
                    let notice = self.notices.map(|endpoint| IpcState::Sending { endpoint, call: false });
                    if Some(ipc) != notice {
                        return Err("a zombie waits only to send its notice");
                    }
                }
                _ if process.space.is_none() => return Err("a running process has an address space"),
                _ => {}
            }
        }
        for (index, process) in self.processes.iter().enumerate() {
            if process.is_live() && self.sched.state(process.thread) == RunState::Free {
                return Err("a live process has a thread");
            }
            if process.is_live() {
                let threads = self
                    .threads
                    .iter()
                    .enumerate()
                    .filter(|(t, thread)| thread.process == index && self.sched.state(*t) != RunState::Free)
                    .count();
                if threads as u32 != process.threads || process.threads > process.thread_limit.max(1) {
                    return Err("a process counts its threads, within its limit");
                }
                if self.threads[process.thread].process != index {
                    return Err("a process's notice thread is one of its threads");
                }
            }
            if !process.is_live()
                && self
                    .threads
                    .iter()
                    .enumerate()
                    .any(|(t, thread)| thread.process == index && self.sched.state(t) != RunState::Free)
            {
                return Err("a free process slot has no thread");
            }
        }
        self.irqs.check()?;
        let mut counts = [(0u32, 0u32); MAX_ENDPOINTS];
        let mut object_counts = [(0u32, 0u32); MAX_MEMORY_OBJECTS];
        let mut notification_counts = [0u32; MAX_NOTIFICATIONS];
        let mut record_counts = [0u32; MAX_PROCESS_RECORDS];
        let mut line_counts = [0u32; crate::irq::LINES];
        if let Some(image) = &self.image {
            for &endpoint in &image.endpoints[..image.manifest.endpoints.len()] {
                counts[endpoint].1 += 1;
            }
        }
        for process in self.processes.iter().filter(|p| p.is_live()) {
            let mut used = 0;
            for (_, entry) in process.handles.iter() {
                match entry.object {
                    Object::Endpoint(endpoint) => {
                        let count = &mut counts[endpoint];
                        count.0 += u32::from(entry.rights.contains(abi::Rights::RECEIVE));
                        count.1 += 1;
                    }
                    Object::Memory(object) => object_counts[object].0 += 1,
                    Object::Notification(notification) => notification_counts[notification] += 1,
                    Object::Process(record) => record_counts[record] += 1,
                    Object::Irq(line) => line_counts[line] += 1,
                }
            }
            for region in process.regions.iter() {
                match region.backing {
                    Backing::Private => used += region.pages,
                    Backing::Object { object, .. } => object_counts[object].1 += 1,
                }
            }
            for object in 0..MAX_MEMORY_OBJECTS {
                let handles = process
                    .handles
                    .iter()
                    .filter(|(_, e)| e.object == Object::Memory(object))
                    .count();
                let regions = process
                    .regions
                    .iter()
                    .filter(|r| matches!(r.backing, Backing::Object { object: o, .. } if o == object))
                    .count();
                if process.memory.references(object) as usize != handles + regions {
                    return Err("a process counts its references to a memory object");
                }
                if handles + regions > 0 {
                    used += self.memory.frames(object).1 as u64;
                }
            }
            if process.memory.used != used || used > process.memory.limit {
                return Err("a process's memory use is its private pages and the objects it refers to");
            }
            if process.resident > process.private_pages() {
                return Err("a process has no more private pages made than it mapped");
            }
        }
        for (endpoint, &count) in counts.iter().enumerate() {
            let live = self.ipc.is_live(endpoint);
            if (live && self.ipc.handle_counts(endpoint) != count) || (!live && count != (0, 0)) {
                return Err("an endpoint counts exactly the handles that name it");
            }
        }
        for (notification, &count) in notification_counts.iter().enumerate() {
            let live = self.ipc.is_notification_live(notification);
            if (live && self.ipc.notification_handles(notification) != count) || (!live && count != 0) {
                return Err("a notification counts exactly the handles that name it");
            }
        }
        for (line, &count) in line_counts.iter().enumerate() {
            if self.irqs.get(line).handles != count {
                return Err("an interrupt line counts exactly the handles that name it");
            }
        }
        for (index, &count) in record_counts.iter().enumerate() {
            let record = self.records.get(index);
            if (record.live && record.handles != count) || (!record.live && count != 0) {
                return Err("a process record counts exactly the handles that name it");
            }
            if record.live && record.ending.is_some() == record.process.is_some() {
                return Err("a record names its process until it has ended");
            }
            if let Some(process) = record.process {
                let p = &self.processes[process];
                if !p.is_live() || p.pid != record.pid || p.record != Some(index) {
                    return Err("a record names a live process that names it back");
                }
            }
        }
        for (index, process) in self.processes.iter().enumerate().filter(|(_, p)| p.is_live()) {
            if let Some(record) = process.record
                && self.records.get(record).process != Some(index)
            {
                return Err("a process names a record that names it back");
            }
        }
        for (object, &count) in object_counts.iter().enumerate() {
            let live = self.memory.is_live(object);
            if (live && (self.memory.references(object) != count || count == (0, 0))) || (!live && count != (0, 0)) {
                return Err("a memory object counts exactly its handles and mappings, and lives while it has one");
            }
        }
        Ok(())
    }

    /// `name[pid]` of the process of `thread`, for log lines.
    pub fn describe(&self, thread: usize) -> String<32> {
        let process = self.process_of(thread);
        let mut text = String::new();
        let _ = write!(text, "{}[{}]", process.name, process.pid);
        text
    }
}
