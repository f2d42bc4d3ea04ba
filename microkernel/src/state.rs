//! The kernel's global state, in one place behind one accessor.
//!
//! Everything the kernel knows lives in [`Kernel`], reached only through
//! [`with`], which refuses re-entry: the kernel runs with interrupts off on a
//! single CPU, so a nested call can only be a bug (a fault inside the
//! kernel), and it panics instead of aliasing the state.

use crate::arch::{AddressSpace, FrameSource};
use crate::config::{MAX_ENDPOINTS, MAX_PROCESSES, MAX_THREADS};
use crate::frames::{Frame, FrameAllocator};
use crate::handles::HandleTable;
use crate::ipc::Ipc;
use crate::sched::RunQueues;
use abi::manifest::{MAX_ENDPOINTS as MANIFEST_ENDPOINTS, MAX_NAME, Manifest};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use heapless::String;

/// Words of the frame bitmap: enough for the 4 GiB the direct map covers.
pub const FRAME_WORDS: usize = (4 << 30) / 4096 / 64;

/// What a thread is doing, for the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Slot unused.
    Free,
    /// On this CPU.
    Running,
    /// On a run queue.
    Ready,
    /// Waiting in IPC (see `Ipc::state`).
    Blocked,
    /// Its process is gone; it waits only to deliver the exit or fault
    /// notice, then the slot is freed.
    Zombie,
}

/// What a thread sends when a receiver takes its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A `send`/`call`: the message is in its saved registers.
    Message,
    /// A `write` forwarded to the console: the bytes are `[buffer, +len)`.
    Write { fd: u64, buffer: u64, len: usize },
    /// An exit or fault notice composed by the kernel.
    Notice {
        label: u32,
        words: [u64; abi::message::MAX_WORDS],
    },
}

pub struct Thread {
    pub state: RunState,
    pub process: usize,
    pub priority: u8,
    /// The message it sends while queued or awaiting a reply.
    pub outgoing: Outgoing,
    /// Badge of the handle it sends through.
    pub badge: u64,
    /// What switching to it writes (its PML4 and I/O right among it),
    /// computed when it starts so a switch needs no lookup.
    pub switch: crate::arch::Switch,
    /// Tick at which its IPC wait times out; 0: no timeout.
    pub deadline: u64,
    /// Timer ticks left of its time slice. It keeps them while it is
    /// preempted or blocked; when they run out (or it yields) it gets a full
    /// slice again at the back of its priority's queue. A `u8` packs with
    /// the other small fields: a `u32` grew `Thread` from 152 to 160 bytes,
    /// and the fast path's index arithmetic by one instruction per look-up
    /// (6 per IPC round trip).
    pub slice_left: u8,
    /// The receive buffer (address, capacity) last found writable for it.
    pub checked_buffer: (u64, u64),
    /// Tracing: the syscall whose exit record is still to be written.
    pub traced_syscall: Option<u64>,
    /// Tracing: pid of the process its last message went to or came from.
    pub traced_peer: u32,
}

impl Thread {
    const FREE: Thread = Thread {
        state: RunState::Free,
        process: 0,
        priority: 0,
        outgoing: Outgoing::Message,
        badge: 0,
        switch: crate::arch::Switch::NONE,
        deadline: 0,
        slice_left: 0,
        checked_buffer: (0, 0),
        traced_syscall: None,
        traced_peer: 0,
    };
}

pub struct Process {
    /// 0 when the slot is free.
    pub pid: u32,
    pub name: String<MAX_NAME>,
    /// The name packed into two message words (`abi::console::pack_name`),
    /// as every forwarded write and notice carries it.
    pub name_words: [u64; 2],
    /// Index of its program in the boot manifest.
    pub program: usize,
    pub space: Option<AddressSpace>,
    pub handles: HandleTable,
    /// May use the serial port's I/O ports.
    pub io_serial: bool,
    pub thread: usize,
    /// Timer ticks it has run for.
    pub cpu_used: u64,
    /// Ticks after which the kernel kills it; 0: no limit.
    pub cpu_limit: u64,
}

impl Process {
    const FREE: Process = Process {
        pid: 0,
        name: String::new(),
        name_words: [0; 2],
        program: 0,
        space: None,
        handles: HandleTable::new(),
        io_serial: false,
        thread: 0,
        cpu_used: 0,
        cpu_limit: 0,
    };

    pub fn is_live(&self) -> bool {
        self.pid != 0
    }

    /// Its address space (every live process has one).
    pub fn space(&self) -> &AddressSpace {
        self.space.as_ref().expect("a live process has an address space")
    }
}

/// The boot image: the manifest read from the initrd, and what it names.
pub struct BootImage {
    pub manifest: Manifest<'static>,
    /// Kernel endpoint slot of each manifest endpoint.
    pub endpoints: [usize; MANIFEST_ENDPOINTS],
    /// Each manifest program's ELF file in the initrd (`None`: not there),
    /// found once at boot so that a spawn does not search the archive.
    pub files: [Option<&'static [u8]>; abi::manifest::MAX_PROGRAMS],
}

/// Switches set on the kernel command line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Report the first ring-3 syscall (the build tool's KVM probe).
    pub probe: bool,
}

/// Counters reported by the `stats` syscall.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub spawned: u64,
}

/// All kernel state.
pub struct Kernel {
    pub frames: FrameAllocator<FRAME_WORDS>,
    pub processes: [Process; MAX_PROCESSES],
    pub threads: [Thread; MAX_THREADS],
    pub ipc: Ipc<MAX_THREADS, MAX_ENDPOINTS>,
    pub run_queues: RunQueues<MAX_THREADS>,
    /// The thread on this CPU, if any.
    pub current: Option<usize>,
    /// Set by `yield` and by the end of a time slice: the current thread
    /// goes to the back of its queue with a full slice.
    pub yield_requested: bool,
    pub ticks: u64,
    pub next_pid: u32,
    pub image: Option<BootImage>,
    /// Endpoint that receives exit and fault notices.
    pub notices: Option<usize>,
    pub options: Options,
    pub counters: Counters,
    pub probe_reported: bool,
}

impl Kernel {
    const fn new() -> Kernel {
        Kernel {
            frames: FrameAllocator::new(),
            processes: [Process::FREE; MAX_PROCESSES],
            threads: [Thread::FREE; MAX_THREADS],
            ipc: Ipc::new(),
            run_queues: RunQueues::new(),
            current: None,
            yield_requested: false,
            ticks: 0,
            next_pid: 1,
            image: None,
            notices: None,
            options: Options { probe: false },
            counters: Counters { spawned: 0 },
            probe_reported: false,
        }
    }

    /// Thread `thread`; thread numbers are in range by construction, and the
    /// mask (the table size is a power of two) lets hot paths skip the check.
    #[inline(always)]
    pub fn thread(&self, thread: usize) -> &Thread {
        &self.threads[thread % MAX_THREADS]
    }

    #[inline(always)]
    pub fn thread_mut(&mut self, thread: usize) -> &mut Thread {
        &mut self.threads[thread % MAX_THREADS]
    }

    /// The process that owns `thread`.
    #[inline(always)]
    pub fn process_of(&self, thread: usize) -> &Process {
        &self.processes[self.thread(thread).process % MAX_PROCESSES]
    }

    pub fn process_of_mut(&mut self, thread: usize) -> &mut Process {
        let process = self.threads[thread].process;
        &mut self.processes[process]
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
}

struct KernelCell {
    busy: AtomicBool,
    kernel: UnsafeCell<Kernel>,
}

// SAFETY: the kernel runs on one CPU with interrupts off, and `with` hands out
// the state to one caller at a time.
unsafe impl Sync for KernelCell {}

static KERNEL: KernelCell = KernelCell {
    busy: AtomicBool::new(false),
    kernel: UnsafeCell::new(Kernel::new()),
};

/// Runs `f` with exclusive access to the kernel state.
pub fn with<R>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    if KERNEL.busy.swap(true, Ordering::Acquire) {
        panic!("kernel state re-entered");
    }
    // SAFETY: `busy` was false, so no other reference to the state exists,
    // and it stays true until this one is gone.
    let result = f(unsafe { &mut *KERNEL.kernel.get() });
    KERNEL.busy.store(false, Ordering::Release);
    result
}
