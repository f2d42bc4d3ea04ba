//! Syscall numbers and the table that describes every syscall.
//!
//! [`SYSCALLS`] is the single description of the syscall interface: each
//! entry's arguments with their registers and kinds, its results and the
//! errors it may return. The kernel dispatches on [`Syscall`], `libsys`
//! wraps each entry, `docs/abi.md` documents it, and tests check all three
//! against this table.

use crate::Error;
use crate::regs::{self, Reg};
use core::fmt;

macro_rules! syscalls {
    ($($(#[doc = $doc:literal])* $name:ident = $number:literal,)*) => {
        /// A syscall number (the value in RAX on entry).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u64)]
        pub enum Syscall {
            $($(#[doc = $doc])* $name = $number,)*
        }

        impl Syscall {
            /// Every syscall, in numeric order.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$name,)*];
        }

        impl TryFrom<u64> for Syscall {
            type Error = Error;

            fn try_from(number: u64) -> Result<Self, Error> {
                match number {
                    $($number => Ok(Syscall::$name),)*
                    _ => Err(Error::NOSYS),
                }
            }
        }
    };
}

syscalls! {
    /// Returns the kernel's ABI version. Also the null syscall of benchmarks.
    AbiVersion = 0,
    /// Writes bytes to the console, forwarded to the console server as IPC.
    Write = 1,
    /// Ends the calling process.
    Exit = 2,
    /// Returns the timer ticks since boot.
    GetTicks = 3,
    /// Gives up the rest of the time slice.
    Yield = 4,
    /// Sends a message and waits until it is received.
    Send = 5,
    /// Waits for a message on an endpoint.
    Recv = 6,
    /// Sends a message and waits for the reply.
    Call = 7,
    /// Replies to the caller of the last received `call`.
    Reply = 8,
    /// Replies, then waits for the next message: a server's loop in one call.
    ReplyRecv = 9,
    /// Creates an endpoint.
    EndpointCreate = 10,
    /// Derives a handle with fewer rights or a badge.
    HandleDup = 11,
    /// Closes a handle.
    HandleClose = 12,
    /// Starts a program of the boot image.
    Spawn = 13,
    /// Copies the kernel's resource counters out.
    Stats = 14,
    /// Returns the caller's process id.
    GetPid = 15,
    /// Maps zeroed pages into the caller.
    MemMap = 16,
    /// Removes mappings.
    MemUnmap = 17,
    /// Changes the permissions of mapped pages.
    MemProtect = 18,
    /// Creates a memory object and returns a handle to it.
    MemCreate = 19,
    /// Maps a memory object into the caller.
    MemMapObject = 20,
    /// Creates a notification and returns a handle to it.
    NotifyCreate = 21,
    /// ORs bits into a notification; never blocks.
    Notify = 22,
    /// Waits until a notification has bits, then returns and clears them.
    NotifyWait = 23,
    /// Binds a notification to an endpoint: its receivers wake for signals too.
    NotifyBind = 24,
    /// Routes an interrupt line to a notification.
    IrqBind = 25,
    /// Unmasks an interrupt line after its interrupt was handled.
    IrqAck = 26,
    /// Waits until a process has ended and returns how it ended.
    ProcessWait = 27,
    /// Ends a process.
    ProcessKill = 28,
    /// Signals a notification when a process ends.
    ProcessWatch = 29,
    /// Copies a line per live process (`ps`) to a buffer.
    ProcessInfo = 30,
    /// Starts a thread in the caller's process.
    ThreadCreate = 31,
    /// Ends the calling thread.
    ThreadExit = 32,
}

impl Syscall {
    /// Its entry in [`SYSCALLS`].
    pub fn desc(self) -> &'static SyscallDesc {
        &SYSCALLS[self as usize]
    }

    /// The lower-case name used in docs, wrappers and traces.
    pub fn name(self) -> &'static str {
        self.desc().name
    }
}

/// The table's name: `reply_recv`.
impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What a register carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// A plain integer.
    Int,
    /// A handle of the calling process.
    Handle,
    /// The address of user memory the kernel reads; its length is in the
    /// argument named by `len` (or, for [`LEN_IN_INFO`], in the MsgInfo).
    InPtr {
        /// The argument holding the length.
        len: &'static str,
    },
    /// The address of user memory the kernel writes; its capacity is in the
    /// argument named by `len`.
    OutPtr {
        /// The argument holding the capacity.
        len: &'static str,
    },
    /// A buffer the kernel first reads `send` bytes from, then writes up to
    /// `receive` bytes into (`call`, `reply_recv`).
    InOutPtr {
        /// What holds the length sent.
        send: &'static str,
        /// The argument holding the capacity for what is received.
        receive: &'static str,
    },
    /// The register is not used by this syscall.
    Unused,
    /// An ABI version, `major << 16 | minor`.
    Version,
    /// A byte count.
    Len,
    /// A [`crate::MsgInfo`].
    MsgInfo,
    /// A message word.
    Word,
    /// [`crate::Rights`] bits.
    Rights,
    /// A badge.
    Badge,
    /// The process's exit status.
    Status,
    /// A process id.
    Pid,
    /// A user address (page-aligned where the syscall says so).
    Address,
    /// [`crate::memory::Perms`] bits.
    Perms,
    /// Notification bits.
    Bits,
    /// A number of timer ticks; 0 means no limit.
    Ticks,
    /// Flag bits the syscall documents.
    Flags,
    /// An interrupt line's handle.
    Irq,
    /// How a process ended ([`crate::process::Ending`]).
    Ending,
    /// A number of entries.
    Count,
}

impl ArgKind {
    /// The name used in the JSON export.
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Int => "int",
            ArgKind::Handle => "handle",
            ArgKind::InPtr { .. } => "in_ptr",
            ArgKind::OutPtr { .. } => "out_ptr",
            ArgKind::InOutPtr { .. } => "inout_ptr",
            ArgKind::Unused => "unused",
            ArgKind::Version => "version",
            ArgKind::Len => "len",
            ArgKind::MsgInfo => "msginfo",
            ArgKind::Word => "word",
            ArgKind::Rights => "rights",
            ArgKind::Badge => "badge",
            ArgKind::Status => "status",
            ArgKind::Pid => "pid",
            ArgKind::Address => "address",
            ArgKind::Perms => "perms",
            ArgKind::Bits => "bits",
            ArgKind::Ticks => "ticks",
            ArgKind::Flags => "flags",
            ArgKind::Irq => "irq",
            ArgKind::Ending => "ending",
            ArgKind::Count => "count",
        }
    }
}

/// The name of the JSON export: `in_ptr`.
impl fmt::Display for ArgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The `len` of a pointer whose length is the MsgInfo's length field (the
/// bytes a message carries), not another argument.
pub const LEN_IN_INFO: &str = "info.len";

/// One argument or result register of a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name in docs and traces (`-` for a register that is not used).
    pub name: &'static str,
    /// The register.
    pub reg: Reg,
    /// What it carries.
    pub kind: ArgKind,
}

/// How a syscall returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// Returns to the caller with the listed results.
    Yes,
    /// Never returns (the process ends).
    Never,
}

impl Returns {
    /// `yes` or `never`, as the reference and the JSON export write it.
    pub const fn name(self) -> &'static str {
        match self {
            Returns::Yes => "yes",
            Returns::Never => "never",
        }
    }
}

/// `yes` or `never`.
impl fmt::Display for Returns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Everything the ABI says about one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallDesc {
    /// Its number.
    pub number: Syscall,
    /// Its lower-case name (`reply_recv`).
    pub name: &'static str,
    /// What it does, for the reference.
    pub summary: &'static str,
    /// Its argument registers, in order.
    pub args: &'static [Field],
    /// Results besides RAX's success value (which `rax` names).
    pub results: &'static [Field],
    /// Every error it may return.
    pub errors: &'static [Error],
    /// Whether it returns.
    pub returns: Returns,
    /// Whether the caller may block (wait for another thread).
    pub blocks: bool,
}

const fn field(name: &'static str, reg: Reg, kind: ArgKind) -> Field {
    Field { name, reg, kind }
}

const A0: Reg = regs::ARGS[0];
const A1: Reg = regs::ARGS[1];
const A2: Reg = regs::ARGS[2];
/// The second result register (`spawn`'s pid, `notify_wait`'s bits,
/// `process_wait`'s detail).
const RDX: Reg = regs::SECOND_RESULT;
const RAX: Reg = regs::RESULT;
const W: [Reg; 6] = regs::ipc::WORDS;

/// Words of an IPC message, as arguments or results.
const IPC_WORDS: [Field; 6] = [
    field("w0", W[0], ArgKind::Word),
    field("w1", W[1], ArgKind::Word),
    field("w2", W[2], ArgKind::Word),
    field("w3", W[3], ArgKind::Word),
    field("w4", W[4], ArgKind::Word),
    field("w5", W[5], ArgKind::Word),
];

/// The IPC registers: `handle` (or unused), `info`, the buffer (sent from,
/// or sent from and received into), the receive capacity (or unused), and the
/// six words.
const fn ipc_args(with_handle: bool, receives: bool) -> [Field; 10] {
    [
        if with_handle {
            field("handle", regs::ipc::HANDLE, ArgKind::Handle)
        } else {
            field("-", regs::ipc::HANDLE, ArgKind::Unused)
        },
        field("info", regs::ipc::INFO, ArgKind::MsgInfo),
        if receives {
            field(
                "buf",
                regs::ipc::BUFFER,
                ArgKind::InOutPtr {
                    send: LEN_IN_INFO,
                    receive: "cap",
                },
            )
        } else {
            field("buf", regs::ipc::BUFFER, ArgKind::InPtr { len: LEN_IN_INFO })
        },
        if receives {
            field("cap", regs::ipc::CAPACITY, ArgKind::Len)
        } else {
            field("-", regs::ipc::CAPACITY, ArgKind::Unused)
        },
        IPC_WORDS[0],
        IPC_WORDS[1],
        IPC_WORDS[2],
        IPC_WORDS[3],
        IPC_WORDS[4],
        IPC_WORDS[5],
    ]
}

const SEND_ARGS: [Field; 10] = ipc_args(true, false);
const CALL_ARGS: [Field; 10] = ipc_args(true, true);
const REPLY_ARGS: [Field; 10] = ipc_args(false, false);
const RECV_ARGS: [Field; 4] = [
    field("handle", regs::ipc::HANDLE, ArgKind::Handle),
    field("info", regs::ipc::INFO, ArgKind::MsgInfo),
    field("buf", regs::ipc::BUFFER, ArgKind::OutPtr { len: "cap" }),
    field("cap", regs::ipc::CAPACITY, ArgKind::Len),
];
const RECEIVED: [Field; 8] = [
    field("badge", regs::ipc::BADGE, ArgKind::Badge),
    field("info", regs::ipc::INFO, ArgKind::MsgInfo),
    IPC_WORDS[0],
    IPC_WORDS[1],
    IPC_WORDS[2],
    IPC_WORDS[3],
    IPC_WORDS[4],
    IPC_WORDS[5],
];
const REPLIED: [Field; 7] = [
    field("info", regs::ipc::INFO, ArgKind::MsgInfo),
    IPC_WORDS[0],
    IPC_WORDS[1],
    IPC_WORDS[2],
    IPC_WORDS[3],
    IPC_WORDS[4],
    IPC_WORDS[5],
];

use Error as E;

/// The syscall table, indexed by number.
pub const SYSCALLS: &[SyscallDesc] = &[
    SyscallDesc {
        number: Syscall::AbiVersion,
        name: "abi_version",
        summary: "Returns the kernel's ABI version (`major << 16 | minor`).",
        args: &[],
        results: &[field("version", RAX, ArgKind::Version)],
        errors: &[],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Write,
        name: "write",
        summary: "Writes up to 4096 bytes of `buf` to the console: the kernel forwards them as a `call` \
                  through handle 0 to the console server and returns the count it replies with \
                  (at most `len`). The whole range must lie in user space; at most 4096 bytes are sent. \
                  The console server takes only the bytes whose output (prefixed lines, escaped \
                  control bytes) fits in `console::MAX_WRITE_OUTPUT` (2048) bytes, at least one: \
                  a caller loops over partial counts (`write_all`). \
                  A console that refuses answers EINVAL; any other error it answers is EPEERGONE. \
                  ETOOLONG when the console receives with a buffer shorter than the bytes sent; \
                  ENOMEM when a page of `buf` not made yet cannot be made (no free frame).",
        args: &[
            field("fd", A0, ArgKind::Int),
            field("buf", A1, ArgKind::InPtr { len: "len" }),
            field("len", A2, ArgKind::Len),
        ],
        results: &[field("written", RAX, ArgKind::Len)],
        errors: &[
            E::FAULT,
            E::BADHANDLE,
            E::NORIGHTS,
            E::PEERGONE,
            E::INVAL,
            E::WRONGKIND,
            E::TOOLONG,
            E::NOMEM,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::Exit,
        name: "exit",
        summary: "Ends the calling process with `status`; the console server is told.",
        args: &[field("status", A0, ArgKind::Status)],
        results: &[],
        errors: &[],
        returns: Returns::Never,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::GetTicks,
        name: "get_ticks",
        summary: "Returns the number of timer ticks since boot.",
        args: &[],
        results: &[field("ticks", RAX, ArgKind::Int)],
        errors: &[],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Yield,
        name: "yield",
        summary: "Moves the caller to the back of its priority's run queue.",
        args: &[],
        results: &[],
        errors: &[],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Send,
        name: "send",
        summary: "Sends a message on an endpoint and waits until a receiver takes it (or until the \
                  timeout in `info`; NONBLOCK: only if a receiver is already waiting).",
        args: &SEND_ARGS,
        results: &[],
        errors: &[
            E::BADHANDLE,
            E::NORIGHTS,
            E::INVAL,
            E::TOOLONG,
            E::FAULT,
            E::PEERGONE,
            E::TABLEFULL,
            E::TIMEDOUT,
            E::WRONGKIND,
            E::NOMEM,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::Recv,
        name: "recv",
        summary: "Waits for a message on an endpoint. The buffer receives up to `cap` bytes (at most 4096). \
                  Only the NONBLOCK flag and the timeout of `info` are used. A caller this thread still owes \
                  a reply is released first: its `call` fails with EPEERGONE. ENOMEM when a page of the \
                  buffer not made yet cannot be made (no free frame).",
        args: &RECV_ARGS,
        results: &RECEIVED,
        errors: &[
            E::BADHANDLE,
            E::NORIGHTS,
            E::FAULT,
            E::TIMEDOUT,
            E::WRONGKIND,
            E::PEERGONE,
            E::NOMEM,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::Call,
        name: "call",
        summary: "Sends a message and waits for the reply, which arrives in the same registers \
                  and buffer (up to `cap` bytes). The timeout in `info` covers both waits. A reply \
                  longer than `cap` (or passing a handle with no room left) ends the call with \
                  ETOOLONG (or ETABLEFULL).",
        args: &CALL_ARGS,
        results: &REPLIED,
        errors: &[
            E::BADHANDLE,
            E::NORIGHTS,
            E::INVAL,
            E::TOOLONG,
            E::FAULT,
            E::PEERGONE,
            E::TABLEFULL,
            E::TIMEDOUT,
            E::WRONGKIND,
            E::NOMEM,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::Reply,
        name: "reply",
        summary: "Replies to the caller whose `call` this thread received last, unless it has received \
                  again since (ENOREPLY) or the caller is gone (EPEERGONE). A reply the caller cannot take \
                  (ETOOLONG, ETABLEFULL, EFAULT) ends the call with that error on both sides.",
        args: &REPLY_ARGS,
        results: &[],
        errors: &[
            E::NOREPLY,
            E::PEERGONE,
            E::INVAL,
            E::TOOLONG,
            E::FAULT,
            E::BADHANDLE,
            E::NORIGHTS,
            E::TABLEFULL,
            E::NOMEM,
        ],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ReplyRecv,
        name: "reply_recv",
        summary: "Replies to the pending caller (if any; a caller that is gone is skipped), \
                  then waits for the next message on `handle` (the timeout in `info` covers the wait). \
                  A reply the caller cannot take ends the call with that error on both sides, and \
                  this syscall returns it without waiting.",
        args: &CALL_ARGS,
        results: &RECEIVED,
        errors: &[
            E::BADHANDLE,
            E::NORIGHTS,
            E::INVAL,
            E::TOOLONG,
            E::FAULT,
            E::TABLEFULL,
            E::TIMEDOUT,
            E::WRONGKIND,
            E::NOMEM,
            E::PEERGONE,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::EndpointCreate,
        name: "endpoint_create",
        summary: "Creates an endpoint and returns a handle to it with all rights and badge 0.",
        args: &[],
        results: &[field("handle", RAX, ArgKind::Handle)],
        errors: &[E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::HandleDup,
        name: "handle_dup",
        summary: "Creates a new handle to the same object with `rights` (a subset of the \
                  original's) and `badge`; the original needs TRANSFER, and a badged handle \
                  keeps its badge (`badge` must then be 0 or equal).",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("rights", A1, ArgKind::Rights),
            field("badge", A2, ArgKind::Badge),
        ],
        results: &[field("new", RAX, ArgKind::Handle)],
        errors: &[E::BADHANDLE, E::NORIGHTS, E::INVAL, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::HandleClose,
        name: "handle_close",
        summary: "Closes a handle.",
        args: &[field("handle", A0, ArgKind::Handle)],
        results: &[],
        errors: &[E::BADHANDLE],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Spawn,
        name: "spawn",
        summary: "Starts a new process running the boot-image program `name`, with the handles, \
                  interrupt lines and priority the manifest gives it, and returns a process handle \
                  to it (WAIT, KILL and TRANSFER) and its pid. Its arguments are `args` (UTF-8, at \
                  most `abi::manifest::MAX_ARGS` bytes, else EINVAL), or the manifest's when \
                  `args_len` is 0. The caller's manifest entry must list it in `spawns`; ETABLEFULL \
                  when the caller has no room for the handle.",
        args: &[
            field("name", A0, ArgKind::InPtr { len: "len" }),
            field("len", A1, ArgKind::Len),
            field("args", A2, ArgKind::InPtr { len: "args_len" }),
            field("args_len", regs::ARGS[3], ArgKind::Len),
        ],
        results: &[field("handle", RAX, ArgKind::Handle), field("pid", RDX, ArgKind::Pid)],
        errors: &[E::FAULT, E::INVAL, E::NOTFOUND, E::DENIED, E::TABLEFULL, E::NOMEM],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Stats,
        name: "stats",
        summary: "Copies the kernel's resource counters (`abi::stats::Stats`) to `buf` (EINVAL when \
                  `len` is below `Stats::MIN_SIZE`; ENOMEM when a page of `buf` not made yet cannot be made).",
        args: &[
            field("buf", A0, ArgKind::OutPtr { len: "len" }),
            field("len", A1, ArgKind::Len),
        ],
        results: &[],
        errors: &[E::FAULT, E::INVAL, E::NOMEM],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::GetPid,
        name: "get_pid",
        summary: "Returns the caller's process id.",
        args: &[],
        results: &[field("pid", RAX, ArgKind::Pid)],
        errors: &[],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::MemMap,
        name: "mem_map",
        summary: "Maps `len` bytes (a multiple of 4096) of zeroed private memory with `perms` at `addr` \
                  (page-aligned, where nothing is mapped yet; 0: the lowest free range at or above \
                  `abi::memory::MAP_ARENA`) and returns the address. The pages count against the \
                  caller's memory limit now and are made on first touch. EINVAL for a misaligned or \
                  empty range, one outside `[USER_BASE, MAP_END)`, or bad `perms` (READ needed, never \
                  WRITE with EXEC); EEXIST when it overlaps a mapping; ENOMEM past the limit or when no \
                  free range fits.",
        args: &[
            field("addr", A0, ArgKind::Address),
            field("len", A1, ArgKind::Len),
            field("perms", A2, ArgKind::Perms),
        ],
        results: &[field("addr", RAX, ArgKind::Address)],
        errors: &[E::INVAL, E::EXIST, E::NOMEM, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::MemUnmap,
        name: "mem_unmap",
        summary: "Removes every mapping in `[addr, addr + len)` (page-aligned; pages not mapped are \
                  skipped), splitting the ones it cuts. Private pages go back to the kernel and to the \
                  caller's memory limit; a memory object loses one mapping. The TLB forgets the pages \
                  before the call returns. ETABLEFULL when a split needs a region the table lacks.",
        args: &[field("addr", A0, ArgKind::Address), field("len", A1, ArgKind::Len)],
        results: &[],
        errors: &[E::INVAL, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::MemProtect,
        name: "mem_protect",
        summary: "Gives every page of `[addr, addr + len)` the permissions `perms`. Every page must be \
                  mapped (EINVAL otherwise), `perms` must be valid (EINVAL) and, for a memory object, \
                  within what its handle allowed when it was mapped (ENORIGHTS).",
        args: &[
            field("addr", A0, ArgKind::Address),
            field("len", A1, ArgKind::Len),
            field("perms", A2, ArgKind::Perms),
        ],
        results: &[],
        errors: &[E::INVAL, E::NORIGHTS, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::MemCreate,
        name: "mem_create",
        summary: "Creates a memory object of `len` bytes (a multiple of 4096, at most \
                  `abi::memory::MAX_OBJECT_SIZE`) of zeroed, physically contiguous pages and returns a \
                  handle with MAP_READ, MAP_WRITE and TRANSFER. The object lives until its last handle \
                  and its last mapping are gone; it counts against the memory limit of every process \
                  that holds a handle to it or maps it.",
        args: &[field("len", A0, ArgKind::Len)],
        results: &[field("handle", RAX, ArgKind::Handle)],
        errors: &[E::INVAL, E::NOMEM, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::MemMapObject,
        name: "mem_map_object",
        summary: "Maps the whole memory object `handle` names with `perms` at `addr` (as `mem_map` \
                  places it) and returns the address. READ needs MAP_READ, WRITE needs MAP_WRITE, and \
                  EXEC is refused (EINVAL). The mapping shares the object's pages with every other \
                  mapping of it and keeps them alive after the handle is closed.",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("addr", A1, ArgKind::Address),
            field("perms", A2, ArgKind::Perms),
        ],
        results: &[field("addr", RAX, ArgKind::Address)],
        errors: &[
            E::BADHANDLE,
            E::WRONGKIND,
            E::NORIGHTS,
            E::INVAL,
            E::EXIST,
            E::NOMEM,
            E::TABLEFULL,
        ],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::NotifyCreate,
        name: "notify_create",
        summary: "Creates a notification (a word of bits, all clear) and returns a handle to it with \
                  SIGNAL, WAIT and TRANSFER and badge 0.",
        args: &[],
        results: &[field("handle", RAX, ArgKind::Handle)],
        errors: &[E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::Notify,
        name: "notify",
        summary: "ORs `bits`, and the handle's badge, into the notification `handle` names (SIGNAL). \
                  Never blocks. A thread waiting on it wakes with the bits; else, when it is bound to \
                  an endpoint, a thread waiting to receive there gets them as a notification message; \
                  else they stay until someone waits.",
        args: &[field("handle", A0, ArgKind::Handle), field("bits", A1, ArgKind::Bits)],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::NotifyWait,
        name: "notify_wait",
        summary: "Returns and clears the bits of the notification `handle` names (WAIT), waiting while \
                  they are all clear: at most `timeout` ticks (0: no limit), or not at all with \
                  `abi::notify::NONBLOCK` in `flags` (ETIMEDOUT). Other flag bits are EINVAL. Waiters \
                  are served in the order they came. EPEERGONE when another thread closes the last \
                  handle to the notification while this one waits.",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("timeout", A1, ArgKind::Ticks),
            field("flags", A2, ArgKind::Flags),
        ],
        results: &[field("bits", RDX, ArgKind::Bits)],
        errors: &[
            E::BADHANDLE,
            E::WRONGKIND,
            E::NORIGHTS,
            E::INVAL,
            E::TIMEDOUT,
            E::PEERGONE,
        ],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::NotifyBind,
        name: "notify_bind",
        summary: "Binds the notification `handle` names (WAIT) to the endpoint `endpoint` names \
                  (RECEIVE): a `recv` or `reply_recv` there then also returns for its bits, as a \
                  message with label `abi::message::NOTIFICATION_LABEL`, the KERNEL flag, badge 0 and \
                  the bits in word 0 (pending bits come before queued senders). EEXIST when either is \
                  bound already. The binding lasts as long as both objects do.",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("endpoint", A1, ArgKind::Handle),
        ],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::EXIST],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::IrqBind,
        name: "irq_bind",
        summary: "Routes the interrupt line `irq` names (WAIT; the manifest's `irqs` grant it) to the \
                  notification `notification` names (SIGNAL) and unmasks it. When the line fires, the \
                  kernel masks it and signals `bits` (non-zero, else EINVAL); `irq_ack` unmasks it. \
                  A new binding replaces the old. When the last handle to the line closes, it is \
                  masked again.",
        args: &[
            field("irq", A0, ArgKind::Irq),
            field("notification", A1, ArgKind::Handle),
            field("bits", A2, ArgKind::Bits),
        ],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::INVAL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::IrqAck,
        name: "irq_ack",
        summary: "Unmasks the interrupt line `irq` names (WAIT) after its driver handled an interrupt. \
                  EINVAL when the line is bound to no notification.",
        args: &[field("irq", A0, ArgKind::Irq)],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::INVAL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ProcessWait,
        name: "process_wait",
        summary: "Waits until the process `handle` names (WAIT) has ended, at most `timeout` ticks \
                  (0: no limit; `abi::notify::NONBLOCK` in `flags`: not at all, ETIMEDOUT), and \
                  returns how (`abi::process::Ending`) with its detail: the exit status, the fault's \
                  `vector | error_code << 8`, the CPU limit, or the killer's pid. Any holder of such a \
                  handle may wait, as often as it likes. EPEERGONE when another thread closes the last \
                  handle to the record while this one waits.",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("timeout", A1, ArgKind::Ticks),
            field("flags", A2, ArgKind::Flags),
        ],
        results: &[
            field("ending", RAX, ArgKind::Ending),
            field("detail", RDX, ArgKind::Int),
        ],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::INVAL, E::TIMEDOUT],
        returns: Returns::Yes,
        blocks: true,
    },
    SyscallDesc {
        number: Syscall::ProcessKill,
        name: "process_kill",
        summary: "Ends the process `handle` names (KILL) at once, wherever it is (running, waiting in \
                  a call, queued): the same teardown as a fault, and a KILLED notice to the console. \
                  EPEERGONE when it has already ended. A process may kill itself.",
        args: &[field("handle", A0, ArgKind::Handle)],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::PEERGONE],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ProcessWatch,
        name: "process_watch",
        summary: "Signals `bits` (non-zero, else EINVAL) on the notification `notification` names \
                  (SIGNAL) when the process `handle` names (WAIT) ends, or at once if it has: one \
                  wait then covers a child and other events. A new watch replaces the old.",
        args: &[
            field("handle", A0, ArgKind::Handle),
            field("notification", A1, ArgKind::Handle),
            field("bits", A2, ArgKind::Bits),
        ],
        results: &[],
        errors: &[E::BADHANDLE, E::WRONGKIND, E::NORIGHTS, E::INVAL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ProcessInfo,
        name: "process_info",
        summary: "Copies an `abi::process::Info` record per live process, in pid order, to `buf` (as \
                  many as `len` holds) and returns how many live processes there are. A `len` of 0 \
                  only counts them. ENOMEM when a page of `buf` not made yet cannot be made.",
        args: &[
            field("buf", A0, ArgKind::OutPtr { len: "len" }),
            field("len", A1, ArgKind::Len),
        ],
        results: &[field("count", RAX, ArgKind::Count)],
        errors: &[E::FAULT, E::NOMEM],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ThreadCreate,
        name: "thread_create",
        summary: "Starts a thread in the caller's process at `entry` with its stack pointer at `stack` \
                  and `arg` in RDI (the stack is the caller's to provide; `entry` runs as if called, \
                  so `stack + 8` should be 16-byte aligned). It has the process's priority and CPUs \
                  and shares its handles and memory. Returns its thread id. ETABLEFULL past the \
                  manifest's `threads` limit or when the kernel has no thread slot; EINVAL when \
                  `entry` or `stack` is not a user address.",
        args: &[
            field("entry", A0, ArgKind::Address),
            field("stack", A1, ArgKind::Address),
            field("arg", A2, ArgKind::Word),
        ],
        results: &[field("thread", RAX, ArgKind::Int)],
        errors: &[E::INVAL, E::TABLEFULL],
        returns: Returns::Yes,
        blocks: false,
    },
    SyscallDesc {
        number: Syscall::ThreadExit,
        name: "thread_exit",
        summary: "Ends the calling thread. Once it is gone (its stack no longer in use) the kernel \
                  signals `bits` on the notification `notification` names, if that is a handle \
                  with SIGNAL (anything else: no signal): how a joiner learns it may free the \
                  stack. When it is the process's last thread, the process ends as if it called \
                  `exit(0)`. Callers waiting for its reply get EPEERGONE.",
        args: &[
            field("notification", A0, ArgKind::Handle),
            field("bits", A1, ArgKind::Bits),
        ],
        results: &[],
        errors: &[],
        returns: Returns::Never,
        blocks: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_number() {
        assert_eq!(SYSCALLS.len(), Syscall::ALL.len());
        for (index, desc) in SYSCALLS.iter().enumerate() {
            assert_eq!(desc.number as usize, index, "{} is out of place", desc.name);
            assert_eq!(Syscall::try_from(index as u64), Ok(desc.number));
        }
    }

    #[test]
    fn unknown_numbers_are_enosys() {
        assert_eq!(Syscall::try_from(SYSCALLS.len() as u64), Err(Error::NOSYS));
        assert_eq!(Syscall::try_from(u64::MAX), Err(Error::NOSYS));
        assert_eq!(Syscall::try_from(1 << 32), Err(Error::NOSYS));
    }

    #[test]
    fn arguments_use_distinct_legal_registers() {
        for desc in SYSCALLS {
            for (i, a) in desc.args.iter().enumerate() {
                assert!(!regs::CLOBBERED.contains(&a.reg), "{}: {}", desc.name, a.name);
                assert_ne!(a.reg, regs::NUMBER, "{}: {}", desc.name, a.name);
                for b in &desc.args[i + 1..] {
                    assert_ne!(a.reg, b.reg, "{}: {} and {}", desc.name, a.name, b.name);
                }
            }
            for result in desc.results {
                assert!(!regs::CLOBBERED.contains(&result.reg));
            }
        }
    }

    #[test]
    fn pointer_lengths_name_real_arguments() {
        for desc in SYSCALLS {
            for arg in desc.args {
                let lengths = match arg.kind {
                    ArgKind::InPtr { len } | ArgKind::OutPtr { len } => [len, len],
                    ArgKind::InOutPtr { send, receive } => [send, receive],
                    _ => continue,
                };
                for len in lengths {
                    let known = len == LEN_IN_INFO || desc.args.iter().any(|a| a.name == len && a.kind == ArgKind::Len);
                    assert!(known, "{}: {} has length {len}", desc.name, arg.name);
                }
            }
        }
    }

    #[test]
    fn only_receiving_ipc_calls_use_the_capacity() {
        for desc in SYSCALLS {
            for arg in desc
                .args
                .iter()
                .filter(|a| a.reg == regs::ipc::CAPACITY && desc.args.len() == 10)
            {
                let receives = matches!(desc.number, Syscall::Call | Syscall::ReplyRecv);
                assert_eq!(arg.kind == ArgKind::Len, receives, "{}", desc.name);
            }
        }
    }

    #[test]
    fn enums_display_their_names() {
        assert_eq!(std::format!("{}", Syscall::ReplyRecv), "reply_recv");
        assert_eq!(
            std::format!(
                "{}",
                ArgKind::InOutPtr {
                    send: "a",
                    receive: "b"
                }
            ),
            "inout_ptr"
        );
        assert_eq!(std::format!("{}", Returns::Never), "never");
        assert_eq!(
            std::format!("[{:<7}]", Syscall::Yield),
            "[yield  ]",
            "width and alignment apply"
        );
        for syscall in Syscall::ALL {
            assert_eq!(std::format!("{syscall}"), syscall.desc().name);
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in SYSCALLS.iter().enumerate() {
            for b in &SYSCALLS[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
    }
}
