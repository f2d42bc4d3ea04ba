//! libsys against the syscall table: every syscall of
//! `abi::syscall::SYSCALLS` has a public wrapper that makes it with its
//! number and puts each argument in the register the table names, through
//! `raw::syscallN` with as many arguments as the table lists, or through
//! `raw::ipc` for a syscall that moves a message.
//!
//! The wrappers run on the host, where the raw layer's test hook
//! (`libsys::raw::host`) sees each call as the registers would carry it.
//! Which registers the raw layer's assembly binds on the kernel's target is
//! checked under the kernel itself: `tests/tests/syscalls.rs` reads them
//! back from the kernel's syscall trace.

use libsys::abi::memory::Perms;
use libsys::abi::regs;
use libsys::abi::syscall::{ArgKind, SYSCALLS, Syscall, SyscallDesc};
use libsys::ipc::{self, Msg};
use libsys::raw::host::{self, HostCall};
use libsys::{MsgInfo, Rights};
use std::cell::{Cell, RefCell};

thread_local! {
    /// The raw calls this thread made since it last looked.
    static CALLS: RefCell<Vec<HostCall>> = const { RefCell::new(Vec::new()) };
    /// Whether this thread's IPC calls get a message back (see
    /// `raw_ipc_carries_every_ipc_register_both_ways`).
    static ANSWER: Cell<bool> = const { Cell::new(false) };
}

/// The hook (the same for every test, which run in parallel): records the
/// call and answers 0 (success), leaving the output registers as they went
/// in unless this thread asked for an answer.
fn record(call: &mut HostCall) -> u64 {
    CALLS.with(|calls| calls.borrow_mut().push(*call));
    if ANSWER.get() {
        call.set_result(regs::ipc::BADGE, 0xbad6e);
        call.set_result(regs::ipc::INFO, MsgInfo::new(9, 6, 0).0);
        for (index, reg) in regs::ipc::WORDS.iter().enumerate() {
            call.set_result(*reg, 100 + index as u64);
        }
    }
    0
}

/// The raw calls `run` made.
fn calls_of(run: impl FnOnce()) -> Vec<HostCall> {
    CALLS.with(|calls| calls.borrow_mut().clear());
    run();
    CALLS.with(|calls| calls.borrow_mut().drain(..).collect())
}

/// Whether the syscall moves a message (its table entry has a MsgInfo).
fn is_ipc(entry: &SyscallDesc) -> bool {
    entry
        .args
        .iter()
        .chain(entry.results)
        .any(|f| f.kind == ArgKind::MsgInfo)
}

/// What a wrapper was given, by the table's argument names: `Some(value)`
/// for a value the register must hold, `None` for a pointer the wrapper
/// makes itself (any non-zero address).
type Given = Vec<(&'static str, Option<u64>)>;

/// The words of a test message, and the message.
const WORDS: [u64; 6] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
const LABEL: u32 = 0x5a;

fn words(given: &mut Given) {
    for (name, word) in ["w0", "w1", "w2", "w3", "w4", "w5"].into_iter().zip(WORDS) {
        given.push((name, Some(word)));
    }
}

/// Calls the wrapper of `syscall` with arguments of its own, and says what
/// each of the table's arguments must hold. A syscall without a wrapper
/// does not compile here.
fn call_wrapper(syscall: Syscall) -> Given {
    let handle = 0x7;
    let msg = Msg::with_words(LABEL, &WORDS);
    let mut buffer = [0u8; 96];
    let pointer = buffer.as_ptr() as u64;
    match syscall {
        Syscall::AbiVersion => {
            libsys::abi_version();
            vec![]
        }
        Syscall::Write => {
            let _ = libsys::write(2, &buffer[..40]);
            vec![("fd", Some(2)), ("buf", Some(pointer)), ("len", Some(40))]
        }
        Syscall::Exit => {
            // Returns on the host (the hook answers), where the wrapper
            // says it cannot.
            let exited = std::panic::catch_unwind(|| libsys::exit(-3));
            assert!(exited.is_err(), "exit returned");
            vec![("status", Some(-3i64 as u64))]
        }
        Syscall::GetTicks => {
            libsys::get_ticks();
            vec![]
        }
        Syscall::Yield => {
            libsys::yield_now();
            vec![]
        }
        Syscall::Send => {
            let _ = ipc::send(handle, &msg, &buffer[..24]);
            let mut given = vec![
                ("handle", Some(handle)),
                ("info", Some(MsgInfo::new(LABEL, 6, 24).0)),
                ("buf", Some(pointer)),
            ];
            words(&mut given);
            given
        }
        Syscall::Recv => {
            let _ = ipc::recv(handle, &mut buffer);
            vec![
                ("handle", Some(handle)),
                ("info", Some(0)),
                ("buf", Some(pointer)),
                ("cap", Some(96)),
            ]
        }
        Syscall::Call => {
            let _ = ipc::call(handle, &msg, &mut buffer, 24);
            let mut given = vec![
                ("handle", Some(handle)),
                ("info", Some(MsgInfo::new(LABEL, 6, 24).0)),
                ("buf", Some(pointer)),
                ("cap", Some(96)),
            ];
            words(&mut given);
            given
        }
        Syscall::Reply => {
            let _ = ipc::reply(&msg, &buffer[..24]);
            let mut given = vec![("info", Some(MsgInfo::new(LABEL, 6, 24).0)), ("buf", Some(pointer))];
            words(&mut given);
            given
        }
        Syscall::ReplyRecv => {
            let _ = ipc::reply_recv(handle, &msg, &mut buffer, 24);
            let mut given = vec![
                ("handle", Some(handle)),
                ("info", Some(MsgInfo::new(LABEL, 6, 24).0)),
                ("buf", Some(pointer)),
                ("cap", Some(96)),
            ];
            words(&mut given);
            given
        }
        Syscall::EndpointCreate => {
            let _ = libsys::endpoint_create();
            vec![]
        }
        Syscall::HandleDup => {
            let _ = libsys::handle_dup(handle, Rights::SEND, 0x42);
            vec![
                ("handle", Some(handle)),
                ("rights", Some(Rights::SEND.bits())),
                ("badge", Some(0x42)),
            ]
        }
        Syscall::HandleClose => {
            let _ = libsys::handle_close(handle);
            vec![("handle", Some(handle))]
        }
        Syscall::Spawn => {
            let (name, args) = ("program", "a=1 b=2");
            // Keep the handle: closing it would be a second call.
            let _ = libsys::spawn_with_args(name, args).map(libsys::Child::into_raw);
            vec![
                ("name", Some(name.as_ptr() as u64)),
                ("len", Some(7)),
                ("args", Some(args.as_ptr() as u64)),
                ("args_len", Some(7)),
            ]
        }
        Syscall::Stats => {
            let _ = libsys::stats();
            vec![("buf", None), ("len", Some(libsys::abi::stats::Stats::SIZE as u64))]
        }
        Syscall::GetPid => {
            libsys::get_pid();
            vec![]
        }
        Syscall::MemMap => {
            let _ = libsys::mem_map(0x4000_0000, 0x3000, Perms::READ | Perms::WRITE);
            vec![
                ("addr", Some(0x4000_0000)),
                ("len", Some(0x3000)),
                ("perms", Some((Perms::READ | Perms::WRITE).bits())),
            ]
        }
        Syscall::MemUnmap => {
            // SAFETY: on the host this reaches only the hook.
            let _ = unsafe { libsys::mem_unmap(0x4000_0000, 0x3000) };
            vec![("addr", Some(0x4000_0000)), ("len", Some(0x3000))]
        }
        Syscall::MemProtect => {
            // SAFETY: on the host this reaches only the hook.
            let _ = unsafe { libsys::mem_protect(0x4000_0000, 0x3000, Perms::READ) };
            vec![
                ("addr", Some(0x4000_0000)),
                ("len", Some(0x3000)),
                ("perms", Some(Perms::READ.bits())),
            ]
        }
        Syscall::MemCreate => {
            let _ = libsys::mem_create(0x5000);
            vec![("len", Some(0x5000))]
        }
        Syscall::MemMapObject => {
            let _ = libsys::mem_map_object(handle, 0x5000_0000, Perms::READ);
            vec![
                ("handle", Some(handle)),
                ("addr", Some(0x5000_0000)),
                ("perms", Some(Perms::READ.bits())),
            ]
        }
        Syscall::NotifyCreate => {
            let _ = libsys::notify_create();
            vec![]
        }
        Syscall::Notify => {
            let _ = libsys::notify(handle, 0b1010);
            vec![("handle", Some(handle)), ("bits", Some(0b1010))]
        }
        Syscall::NotifyWait => {
            let _ = libsys::notify_wait(handle, 25, libsys::abi::notify::NONBLOCK);
            vec![
                ("handle", Some(handle)),
                ("timeout", Some(25)),
                ("flags", Some(libsys::abi::notify::NONBLOCK)),
            ]
        }
        Syscall::NotifyBind => {
            let _ = libsys::notify_bind(handle, 0x9);
            vec![("handle", Some(handle)), ("endpoint", Some(0x9))]
        }
        Syscall::IrqBind => {
            let _ = libsys::irq_bind(0x3, handle, 0x4);
            vec![("irq", Some(0x3)), ("notification", Some(handle)), ("bits", Some(0x4))]
        }
        Syscall::IrqAck => {
            let _ = libsys::irq_ack(0x3);
            vec![("irq", Some(0x3))]
        }
        Syscall::ProcessWait => {
            let _ = libsys::process_wait(handle, 7, 0);
            vec![("handle", Some(handle)), ("timeout", Some(7)), ("flags", Some(0))]
        }
        Syscall::ProcessKill => {
            let _ = libsys::process_kill(handle);
            vec![("handle", Some(handle))]
        }
        Syscall::ProcessWatch => {
            let _ = libsys::process_watch(handle, 0x9, 0x10);
            vec![
                ("handle", Some(handle)),
                ("notification", Some(0x9)),
                ("bits", Some(0x10)),
            ]
        }
        Syscall::ProcessInfo => {
            let mut out = [libsys::abi::process::Info::from_bytes(&[0; 64]).unwrap(); 2];
            let _ = libsys::process_info(&mut out);
            vec![
                ("buf", None),
                ("len", Some(2 * libsys::abi::process::Info::SIZE as u64)),
            ]
        }
    }
}

/// What is wrong with the raw `calls` a wrapper of `entry` made, given
/// `given`.
fn problems(entry: &SyscallDesc, calls: &[HostCall], given: &Given) -> Vec<String> {
    let name = entry.name;
    let [call] = calls else {
        return vec![format!("{name}: the wrapper made {} raw calls, not one", calls.len())];
    };
    let mut problems = Vec::new();
    if call.number != entry.number as u64 || call.int80 {
        problems.push(format!(
            "{name}: the wrapper made syscall {} (int 0x80: {}), not {} through `syscall`",
            call.number, call.int80, entry.number as u64
        ));
    }
    if is_ipc(entry) {
        if !call.ipc {
            problems.push(format!("{name}: the wrapper does not go through raw::ipc"));
        }
    } else {
        let expected = &regs::ARGS[..entry.args.len()];
        let used: Vec<_> = call.regs().iter().map(|(reg, _)| *reg).collect();
        if call.ipc || used != expected {
            problems.push(format!(
                "{name}: the table lists {} arguments but the wrapper set {used:?}",
                entry.args.len()
            ));
        }
    }
    for field in entry.args.iter().filter(|field| field.kind != ArgKind::Unused) {
        let value = call.get(field.reg);
        match given.iter().find(|(name, _)| *name == field.name) {
            None => problems.push(format!("{name}: this test gives no value for `{}`", field.name)),
            Some((_, Some(expected))) if value != Some(*expected) => problems.push(format!(
                "{name}: `{}` should be {expected:#x} in {}, which holds {}",
                field.name,
                field.reg,
                value.map_or("nothing".to_string(), |value| format!("{value:#x}"))
            )),
            Some((_, None)) if value.is_none_or(|value| value == 0) => {
                problems.push(format!("{name}: `{}` in {} is not an address", field.name, field.reg))
            }
            Some(_) => {}
        }
    }
    for (given_name, _) in given {
        if !entry.args.iter().any(|field| field.name == *given_name) {
            problems.push(format!("{name}: the table has no argument `{given_name}`"));
        }
    }
    problems
}

#[test]
fn every_syscall_has_a_wrapper_that_follows_the_table() {
    host::set_hook(Some(record));
    let mut all = Vec::new();
    for entry in SYSCALLS {
        let mut given = Vec::new();
        let calls = calls_of(|| given = call_wrapper(entry.number));
        all.extend(problems(entry, &calls, &given));
    }
    assert!(
        all.is_empty(),
        "libsys does not match the syscall table:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_should() {
    host::set_hook(Some(record));
    let entry = Syscall::HandleDup.desc();
    // Right: the wrapper itself.
    let calls = calls_of(|| {
        let _ = libsys::handle_dup(7, Rights::SEND, 0x42);
    });
    let given = vec![
        ("handle", Some(7)),
        ("rights", Some(Rights::SEND.bits())),
        ("badge", Some(0x42)),
    ];
    assert_eq!(problems(entry, &calls, &given), Vec::<String>::new());
    // Arguments swapped, one missing, the wrong number, two calls.
    // SAFETY: on the host these reach only the hook.
    let swapped = calls_of(|| unsafe {
        libsys::raw::syscall3(Syscall::HandleDup as u64, Rights::SEND.bits(), 7, 0x42);
    });
    assert_eq!(problems(entry, &swapped, &given).len(), 2);
    // SAFETY: as above.
    let short = calls_of(|| unsafe {
        libsys::raw::syscall2(Syscall::HandleDup as u64, 7, Rights::SEND.bits());
    });
    assert_eq!(
        problems(entry, &short, &given).len(),
        2,
        "{:?}",
        problems(entry, &short, &given)
    );
    // SAFETY: as above.
    let other = calls_of(|| unsafe {
        libsys::raw::syscall3(Syscall::HandleClose as u64, 7, Rights::SEND.bits(), 0x42);
    });
    assert_eq!(problems(entry, &other, &given).len(), 1);
    let twice = calls_of(|| {
        let _ = libsys::handle_dup(7, Rights::SEND, 0x42);
        let _ = libsys::handle_dup(7, Rights::SEND, 0x42);
    });
    assert_eq!(problems(entry, &twice, &given).len(), 1);
    // A value the table does not name, and one it names that is not given.
    let wrong_names = vec![
        ("handle", Some(7)),
        ("rights", Some(Rights::SEND.bits())),
        ("colour", Some(1)),
    ];
    assert_eq!(problems(entry, &calls, &wrong_names).len(), 2);
}

#[test]
fn raw_ipc_carries_every_ipc_register_both_ways() {
    host::set_hook(Some(record));
    ANSWER.set(true);
    let mut buffer = [0u8; 16];
    let mut received = None;
    let calls = calls_of(|| {
        let message = ipc::recv(3, &mut buffer).unwrap();
        received = Some((message.badge, message.label, message.words().to_vec()));
    });
    ANSWER.set(false);
    let [call] = calls.as_slice() else { panic!("{calls:?}") };
    let set: Vec<_> = call.regs().iter().map(|(reg, _)| *reg).collect();
    let mut expected = vec![
        regs::ipc::HANDLE,
        regs::ipc::INFO,
        regs::ipc::BUFFER,
        regs::ipc::CAPACITY,
    ];
    expected.extend(regs::ipc::WORDS);
    assert_eq!(set, expected);
    assert_eq!(received, Some((0xbad6e, 9, (100..106).collect())));
}
