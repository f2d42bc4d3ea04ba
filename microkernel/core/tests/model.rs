//! Model-based tests of the kernel core on the host: random syscall
//! sequences from the programs of a small system, with timer ticks and
//! faults between them, served by the same code the kernel runs
//! (`events`, `syscalls`, `ipc`, `sched`, `process`) on the mock machine.
//!
//! After every step the kernel's invariants must hold (`Kernel::check`:
//! run states against queues, IPC states against endpoint queues and reply
//! slots, handle counts against handle tables) and every frame must be free
//! or held by a live address space. Whenever the IPC fast path would take a
//! syscall, the test first runs it both ways on copies of the kernel and
//! requires the fast path and the slow path (dispatcher plus scheduler) to
//! leave exactly the same state. When a run ends, every remaining process is
//! torn down and every frame and endpoint must come back.
//!
//! `MODEL_SEEDS=N MODEL_STEPS=M cargo test -p kernel-core --test model`
//! runs longer campaigns (defaults: 8 seeds of 3,000 steps).

mod support;

use abi::message::{MAX_BUFFER, MsgFlags};
use abi::regs::{self, ipc as ipc_regs};
use abi::{MsgInfo, PAGE_SIZE, Syscall};
use fuzzing::Rng;
use kernel_core::config::{USER_STACK_PAGES, USER_STACK_TOP};
use kernel_core::events::{self, Event, Resume};
use kernel_core::ipc::fastpath::{self, Taken};
use kernel_core::ipc::message::Outgoing;
use kernel_core::kernel::{Counters, Kernel};
use kernel_core::machine::Machine;
use kernel_core::sched::{RunState, Scheduler};
use kernel_core::space::AddressSpace;
use kernel_core::trapframe::TrapFrame;
use kernel_core::{config, process, syscalls, vm, wake};
use std::collections::BTreeMap;
use support::{MockMachine, MockSwitch, TEXT, boot, check, first, on_big_stack, poke_as, thread_of};

/// The system under test: a console receiving notices, two servers (beta
/// may call alpha on its clients' behalf), three clients at two priorities
/// (one with a CPU limit), and a spawner that may start a child.
const MANIFEST: &str = "manifest 1
endpoint console notices
endpoint alpha
endpoint beta
program console file=bin/p priority=6
handle console rights=recv
program alpha file=bin/p priority=4
handle console rights=send badge=1
handle alpha rights=recv
program beta file=bin/p priority=3
handle console rights=send badge=2
handle beta rights=recv
handle alpha rights=send,transfer badge=3
program c1 file=bin/p priority=2
handle console rights=send badge=4
handle alpha rights=send,transfer badge=5
handle beta rights=send,transfer badge=6
program c2 file=bin/p priority=2 irqs=4
handle console rights=send badge=7
handle beta rights=send,transfer badge=8
program c3 file=bin/p priority=1 cpu_limit=40
handle console rights=send badge=9
handle alpha rights=send badge=10
program spawner file=bin/p priority=2 spawns=child
handle console rights=send badge=11
handle alpha rights=send,transfer badge=12
program child file=bin/p priority=2 start=spawn
handle console rights=send badge=13
handle beta rights=send badge=14
";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The registers of the syscall a well-behaved program would make: a server
/// replies and waits on the endpoint it receives on, a client calls one it
/// may send to or writes; register-only messages, mostly, and some with
/// bytes from and into its stack (the fast path's cases). Bytes it sends
/// are written first, so that moving them shows.
fn typical_syscall(k: &Kernel<MockMachine>, thread: usize, rng: &mut Rng) -> Option<TrapFrame> {
    let mut frame = *k.frame(thread);
    let handles: Vec<(u64, abi::Rights)> = k
        .process_of(thread)
        .handles
        .iter()
        .map(|(h, e)| (h, e.rights))
        .collect();
    let receive: Vec<u64> = handles
        .iter()
        .filter(|(_, r)| r.contains(abi::Rights::RECEIVE))
        .map(|(h, _)| *h)
        .collect();
    let send: Vec<u64> = handles
        .iter()
        .skip(1) // handle 0, the console, is for `write`
        .filter(|(_, r)| r.contains(abi::Rights::SEND))
        .map(|(h, _)| *h)
        .collect();
    let server = !receive.is_empty() && (send.is_empty() || rng.below(4) != 0);
    let (number, handle) = if server {
        let number = if rng.one_in(6) {
            Syscall::Recv
        } else {
            Syscall::ReplyRecv
        };
        (number, rng.pick(&receive))
    } else if !send.is_empty() && !rng.one_in(8) {
        (Syscall::Call, rng.pick(&send))
    } else {
        (Syscall::Write, 0)
    };
    let stack_low = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
    // A buffer at the bottom of the stack, or one that crosses a page.
    let buffer = stack_low + rng.pick(&[0, 0, PAGE_SIZE - 24]);
    let len = if rng.one_in(3) {
        rng.pick(&[1, 8, 64, 64, 200, PAGE_SIZE as usize])
    } else {
        0
    };
    if len != 0 {
        let bytes = (0..len).map(|_| rng.below(256) as u8).collect();
        POKES.with(|p| p.borrow_mut().push((buffer, bytes)));
    }
    frame.set(regs::NUMBER, number as u64);
    if number == Syscall::Write {
        frame.set(regs::ARGS[0], 1);
        frame.set(regs::ARGS[1], buffer);
        frame.set(regs::ARGS[2], len as u64);
        return Some(frame);
    }
    let words = rng.below(7) as usize;
    let mut info = MsgInfo::new(rng.below(4) as u32, words, len);
    if rng.one_in(10) {
        info = info.with_timeout(rng.below(3) as u32 + 1);
    }
    frame.set(ipc_regs::HANDLE, handle);
    frame.set(ipc_regs::INFO, info.0);
    frame.set(ipc_regs::BUFFER, buffer);
    frame.set(ipc_regs::CAPACITY, rng.pick(&[0, 0, 0, 64, PAGE_SIZE]));
    for reg in ipc_regs::WORDS {
        frame.set(reg, rng.u64());
    }
    Some(frame)
}

/// The registers of one random syscall from `thread`.
fn random_syscall(k: &Kernel<MockMachine>, thread: usize, rng: &mut Rng) -> TrapFrame {
    if rng.below(100) < 70
        && let Some(frame) = typical_syscall(k, thread, rng)
    {
        return frame;
    }
    if rng.one_in(10) {
        return garbage_syscall(k, thread, rng);
    }
    let mut frame = *k.frame(thread);
    let number = match rng.below(130) {
        0..=11 => Syscall::Call,
        12..=23 => Syscall::ReplyRecv,
        24..=33 => Syscall::Recv,
        34..=41 => Syscall::Send,
        42..=47 => Syscall::Reply,
        48..=55 => Syscall::Write,
        56..=60 => Syscall::Yield,
        61..=64 => Syscall::EndpointCreate,
        65..=69 => Syscall::HandleDup,
        70..=74 => Syscall::HandleClose,
        75..=77 => Syscall::Spawn,
        78..=79 => Syscall::Stats,
        80..=81 => Syscall::GetTicks,
        82 => Syscall::GetPid,
        83 => Syscall::AbiVersion,
        84 => Syscall::Exit,
        85..=88 => Syscall::MemMap,
        89..=90 => Syscall::MemUnmap,
        91..=92 => Syscall::MemProtect,
        93..=95 => Syscall::MemCreate,
        96..=98 => Syscall::MemMapObject,
        99..=102 => Syscall::NotifyCreate,
        103..=106 => Syscall::Notify,
        107..=110 => Syscall::NotifyWait,
        111..=112 => Syscall::NotifyBind,
        113..=114 => Syscall::IrqBind,
        115 => Syscall::IrqAck,
        116..=118 => Syscall::ProcessWait,
        119..=120 => Syscall::ProcessKill,
        121..=122 => Syscall::ProcessWatch,
        123..=124 => Syscall::ProcessInfo,
        126..=128 => Syscall::ThreadCreate,
        129 => Syscall::ThreadExit,
        _ => Syscall::Call,
    };
    let handles: Vec<u64> = k.process_of(thread).handles.iter().map(|(h, _)| h).collect();
    let mut handle = || {
        if handles.is_empty() || rng.one_in(12) {
            rng.pick(&[0, 1, 7, 0x1_0001, u64::MAX])
        } else {
            rng.pick(&handles)
        }
    };
    let (a, b) = (handle(), handle());
    let stack_low = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
    let buffer = match rng.below(20) {
        0 => TEXT,                  // read-only
        1 => 0xffff_8000_0000_0000, // the kernel half
        2 => USER_STACK_TOP - 100,  // runs off the end of the stack
        3 => stack_low - 64,        // starts in the guard page
        _ => stack_low + rng.below(10 * PAGE_SIZE),
    };
    let len = rng.pick(&[0, 0, 0, 1, 8, 64, 200, 4096, 4097]);
    let words = if rng.one_in(30) { 7 } else { rng.below(7) as usize };
    let mut flags = MsgFlags::empty();
    if rng.one_in(10) {
        flags |= MsgFlags::HANDLE;
    }
    if rng.one_in(8) {
        flags |= MsgFlags::NONBLOCK;
    }
    if rng.one_in(50) {
        flags |= MsgFlags::KERNEL;
    }
    let timeout = if rng.one_in(6) { rng.below(4) as u32 + 1 } else { 0 };
    let info = MsgInfo::new(rng.below(8) as u32, words, len)
        .with_flags(flags)
        .with_timeout(timeout);
    frame.set(regs::NUMBER, number as u64);
    match number {
        Syscall::Send | Syscall::Recv | Syscall::Call | Syscall::Reply | Syscall::ReplyRecv => {
            frame.set(ipc_regs::HANDLE, a);
            frame.set(ipc_regs::INFO, info.0);
            frame.set(ipc_regs::BUFFER, buffer);
            frame.set(
                ipc_regs::CAPACITY,
                rng.pick(&[0, 0, 8, 64, 4096, MAX_BUFFER as u64 + 5]),
            );
            for (i, reg) in ipc_regs::WORDS.iter().enumerate() {
                frame.set(
                    *reg,
                    if i == 0 && flags.contains(MsgFlags::HANDLE) {
                        b
                    } else {
                        rng.u64()
                    },
                );
            }
        }
        Syscall::Write => {
            frame.set(regs::ARGS[0], rng.pick(&[1, 2, 1, 3]));
            frame.set(regs::ARGS[1], buffer);
            frame.set(regs::ARGS[2], rng.pick(&[0, 5, 64, 5000]));
        }
        Syscall::HandleDup => {
            frame.set(regs::ARGS[0], a);
            frame.set(regs::ARGS[1], rng.below(16));
            frame.set(regs::ARGS[2], rng.below(100));
        }
        Syscall::HandleClose => frame.set(regs::ARGS[0], a),
        Syscall::Spawn => {
            let name: &[u8] = rng.pick(&[&b"child"[..], b"c1", b"nobody"]);
            let address = stack_low + 128;
            let mut bytes = name.to_vec();
            bytes.resize(16, 0);
            // The name lies in the thread's own stack.
            POKES.with(|p| p.borrow_mut().push((address, bytes)));
            frame.set(regs::ARGS[0], address);
            frame.set(regs::ARGS[1], if rng.one_in(10) { 40 } else { name.len() as u64 });
            // Arguments: mostly the manifest's, sometimes the name's bytes,
            // sometimes too many.
            frame.set(regs::ARGS[2], address);
            frame.set(regs::ARGS[3], rng.pick(&[0, 0, 0, 4, 200]));
        }
        Syscall::Stats => {
            frame.set(regs::ARGS[0], buffer);
            frame.set(regs::ARGS[1], rng.pick(&[96, 200, 10]));
        }
        Syscall::Exit => frame.set(regs::ARGS[0], rng.below(3)),
        Syscall::MemMap | Syscall::MemUnmap | Syscall::MemProtect => {
            let regions: Vec<(u64, u64)> = k
                .process_of(thread)
                .regions
                .iter()
                .map(|r| (r.start, r.pages))
                .collect();
            let address = match rng.below(6) {
                0 if number == Syscall::MemMap => 0,
                0 | 1 if !regions.is_empty() => {
                    let (start, pages) = rng.pick(&regions);
                    start + rng.below(pages) * PAGE_SIZE
                }
                2 => abi::memory::MAP_ARENA + rng.below(64) * PAGE_SIZE,
                3 => rng.pick(&[0x1000, abi::memory::MAP_END, !0xfffu64, TEXT + 1]),
                _ if number == Syscall::MemMap => 0,
                _ => abi::memory::MAP_ARENA + rng.below(16) * PAGE_SIZE,
            };
            frame.set(regs::ARGS[0], address);
            frame.set(
                regs::ARGS[1],
                rng.pick(&[PAGE_SIZE, 2 * PAGE_SIZE, 3 * PAGE_SIZE, 16 * PAGE_SIZE, 0, 100, 1 << 40]),
            );
            frame.set(regs::ARGS[2], rng.below(9));
        }
        Syscall::MemCreate => {
            frame.set(
                regs::ARGS[0],
                rng.pick(&[PAGE_SIZE, 4 * PAGE_SIZE, 64 * PAGE_SIZE, 0, 123, 1 << 30]),
            );
        }
        Syscall::MemMapObject => {
            frame.set(regs::ARGS[0], a);
            frame.set(regs::ARGS[1], if rng.one_in(4) { abi::memory::MAP_ARENA } else { 0 });
            frame.set(regs::ARGS[2], rng.pick(&[1, 3, 5, 2]));
        }
        Syscall::Notify | Syscall::IrqBind | Syscall::ProcessWatch | Syscall::NotifyBind => {
            let bits = rng.pick(&[0, 1, 2, 1 << 63, u64::MAX]);
            frame.set(regs::ARGS[0], a);
            frame.set(regs::ARGS[1], if number == Syscall::Notify { bits } else { b });
            frame.set(regs::ARGS[2], bits);
        }
        Syscall::NotifyWait | Syscall::ProcessWait => {
            frame.set(regs::ARGS[0], a);
            frame.set(regs::ARGS[1], rng.pick(&[0, 0, 1, 3]));
            frame.set(regs::ARGS[2], rng.pick(&[0, 0, abi::notify::NONBLOCK, 2]));
        }
        Syscall::IrqAck | Syscall::ProcessKill => frame.set(regs::ARGS[0], a),
        Syscall::ProcessInfo => {
            frame.set(regs::ARGS[0], buffer);
            frame.set(regs::ARGS[1], rng.pick(&[0, 64, 200, 4096]));
        }
        Syscall::ThreadCreate => {
            frame.set(regs::ARGS[0], rng.pick(&[TEXT, TEXT, 0, abi::USER_END]));
            frame.set(regs::ARGS[1], stack_low + rng.below(16) * PAGE_SIZE);
            frame.set(regs::ARGS[2], rng.u64());
        }
        _ => {}
    }
    frame
}

/// A syscall of the table (never `exit`) with every register drawn from
/// edge values, the caller's handles and random bits: inputs no program
/// would pass, to reach error paths the shaped arguments miss.
fn garbage_syscall(k: &Kernel<MockMachine>, thread: usize, rng: &mut Rng) -> TrapFrame {
    let mut frame = *k.frame(thread);
    let syscall = loop {
        let syscall = rng.pick(Syscall::ALL);
        if syscall != Syscall::Exit {
            break syscall;
        }
    };
    let handles: Vec<u64> = k.process_of(thread).handles.iter().map(|(h, _)| h).collect();
    let stack_low = USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE;
    frame.set(regs::NUMBER, syscall as u64);
    for reg in regs::ARGS.into_iter().chain(ipc_regs::WORDS) {
        let value = match rng.below(12) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => rng.u64(),
            4 | 5 if !handles.is_empty() => rng.pick(&handles),
            6 => stack_low + rng.below(16 * PAGE_SIZE),
            7 => rng.pick(&[TEXT, 0xffff_8000_0000_0000, abi::USER_END - 8, 1 << 47]),
            8 => rng.pick(&[PAGE_SIZE, 64, 4096, 4097, 1 << 32]),
            // A MsgInfo that may pass its checks.
            9 => {
                MsgInfo::new(rng.below(4) as u32, rng.below(7) as usize, rng.below(300) as usize)
                    .with_flags(MsgFlags::from_bits_truncate(rng.below(8) as u8))
                    .with_timeout(rng.below(3) as u32)
                    .0
            }
            _ => rng.below(16),
        };
        frame.set(reg, value);
    }
    // Never an unbounded wait on nothing: a blocking call waits a tick or two.
    if matches!(syscall, Syscall::NotifyWait | Syscall::ProcessWait) && frame.get(regs::ARGS[1]) == 0 {
        frame.set(regs::ARGS[1], 1 + rng.below(2));
    }
    frame
}

/// Checks the result `thread` got from the syscall it made last (if that
/// syscall has returned): an error must be one the ABI table lists for it,
/// whichever path raised it (the handler, a copy, a peer's refusal, a wake
/// with an error). Issue 16: the table is complete by construction. An
/// error it does not list is recorded in `unlisted`, with the registers the
/// syscall was made with the first time.
fn check_error_listed(
    k: &Kernel<MockMachine>,
    thread: usize,
    issued: &[Option<(u32, TrapFrame)>],
    unlisted: &mut BTreeMap<(Syscall, u64), TrapFrame>,
) {
    let Some((pid, before)) = issued[thread] else { return };
    if k.process_of(thread).pid != pid || !k.process_of(thread).is_live() {
        return;
    }
    let Ok(syscall) = Syscall::try_from(before.syscall_number()) else {
        return;
    };
    let Err(code) = abi::Error::decode(k.frame(thread).get(regs::RESULT)) else {
        return;
    };
    let listed = abi::Error::from_code(code).is_some_and(|error| syscall.desc().errors.contains(&error));
    if !listed {
        unlisted.entry((syscall, code)).or_insert(before);
    }
}

thread_local! {
    /// Bytes to write into user memory before the next syscall (the spawn
    /// name), kept apart because `random_syscall` only borrows the kernel.
    static POKES: std::cell::RefCell<Vec<(u64, Vec<u8>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What the fast path and the slow path must leave the same.
#[derive(Debug, PartialEq)]
struct Snapshot {
    sched: Scheduler<{ config::MAX_THREADS }>,
    ipc:
        kernel_core::ipc::state::Ipc<{ config::MAX_THREADS }, { config::MAX_ENDPOINTS }, { config::MAX_NOTIFICATIONS }>,
    frames: Vec<TrapFrame>,
    threads: Vec<(usize, Outgoing, u64, kernel_core::umem::CheckedBuffers)>,
    memory: Vec<(u64, Vec<u8>)>,
    handles: Vec<kernel_core::handles::HandleTable>,
    counters: Counters,
    switched: Option<(usize, MockSwitch)>,
    active: u64,
    free_frames: usize,
}

/// Where two snapshots differ, element by element.
fn differences(a: &Snapshot, b: &Snapshot) -> String {
    fn list<T: PartialEq + std::fmt::Debug>(name: &str, a: &[T], b: &[T], out: &mut String) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                out.push_str(&format!("{name}[{i}]: {x:?}\n     vs {y:?}\n"));
            }
        }
    }
    let mut out = String::new();
    if a.sched != b.sched {
        out.push_str(&format!(
            "sched differs (current {:?} vs {:?})\n",
            a.sched.current(),
            b.sched.current()
        ));
        for t in 0..config::MAX_THREADS {
            let (x, y) = (
                (
                    a.sched.state(t),
                    a.sched.priority(t),
                    a.sched.slice_left(t),
                    a.sched.deadline(t),
                ),
                (
                    b.sched.state(t),
                    b.sched.priority(t),
                    b.sched.slice_left(t),
                    b.sched.deadline(t),
                ),
            );
            if x != y {
                out.push_str(&format!("  thread {t}: {x:?} vs {y:?}\n"));
            }
        }
    }
    if a.ipc != b.ipc {
        out.push_str("ipc differs\n");
        for t in 0..config::MAX_THREADS {
            let (x, y) = (
                (a.ipc.state(t), a.ipc.reply_slot(t)),
                (b.ipc.state(t), b.ipc.reply_slot(t)),
            );
            if x != y {
                out.push_str(&format!("  thread {t}: {x:?} vs {y:?}\n"));
            }
        }
    }
    list("frame", &a.frames, &b.frames, &mut out);
    list("thread", &a.threads, &b.threads, &mut out);
    list("handles", &a.handles, &b.handles, &mut out);
    if a.memory != b.memory {
        let pages = |s: &Snapshot| s.memory.iter().map(|(p, _)| *p).collect::<Vec<_>>();
        let differing: Vec<u64> = a
            .memory
            .iter()
            .filter(|page| !b.memory.contains(page))
            .map(|(p, _)| *p)
            .collect();
        out.push_str(&format!(
            "memory differs: pages {:x?} vs {:x?}; contents differ in {differing:x?}\n",
            pages(a),
            pages(b)
        ));
    }
    if (a.counters, a.switched, a.active, a.free_frames) != (b.counters, b.switched, b.active, b.free_frames) {
        out.push_str(&format!(
            "machine/counters: {:?} vs {:?}\n",
            (a.counters, a.switched, a.active, a.free_frames),
            (b.counters, b.switched, b.active, b.free_frames)
        ));
    }
    out
}

/// Fails with the differences if two snapshots differ.
#[track_caller]
fn assert_same(a: &Snapshot, b: &Snapshot, what: &str) {
    if a != b {
        panic!("{what}:\n{}", differences(a, b));
    }
}

fn snapshot(k: &Kernel<MockMachine>) -> Snapshot {
    Snapshot {
        sched: k.sched.clone(),
        ipc: k.ipc.clone(),
        frames: k.threads.iter().map(|t| t.frame).collect(),
        threads: k
            .threads
            .iter()
            .map(|t| (t.process, t.outgoing, t.badge, t.buffers))
            .collect(),
        memory: k.machine.memory(),
        handles: k.processes.iter().map(|p| p.handles.clone()).collect(),
        // Which mode served a syscall is not state the paths must agree on:
        // the count is.
        counters: Counters {
            syscalls: k.counters.syscalls + k.counters.shared_syscalls.iter().sum::<u64>(),
            shared_syscalls: [0; config::MAX_CPUS],
            ..k.counters
        },
        switched: k.machine.switched,
        active: k.machine.active,
        free_frames: k.frames.free_count(),
    }
}

/// Runs the current thread's IPC syscall on two copies of the kernel, once
/// through the fast path and once through the dispatcher and the
/// scheduler; if the fast path takes it, both must end in the same state.
/// Then, for a register-only `call` or `reply_recv`, in shared mode
/// ([`shared_equals_exclusive`]). Returns what the fast path did (`None` if
/// it declined) and whether shared mode took it.
fn fast_equals_slow(k: &Kernel<MockMachine>, thread: usize) -> (Option<Taken>, bool) {
    let shared = shared_equals_exclusive(k, thread);
    (exclusive_equals_slow(k, thread), shared)
}

/// The fast path with the kernel to itself against the slow path (see
/// [`fast_equals_slow`]).
fn exclusive_equals_slow(k: &Kernel<MockMachine>, thread: usize) -> Option<Taken> {
    let mut fast = Box::new(k.clone());
    let tried = if k.frame(thread).syscall_number() == Syscall::Write as u64 {
        fastpath::try_write(&mut fast, thread)
    } else {
        fastpath::try_ipc(&mut fast, thread)
    };
    let Some(taken) = tried else {
        assert_same(
            &snapshot(&fast),
            &snapshot(k),
            "a declining fast path changed something",
        );
        return None;
    };
    // The hint for the CPU's next IPC: straight to the lock after a peer
    // that could not run here, shared mode first after a switch.
    let bit = 1 << fast.machine.cpu;
    assert_eq!(
        fast.machine.prefers_lock & bit != 0,
        taken == Taken::Woke,
        "the IPC hint after {taken:?}"
    );
    // A peer woken rather than switched to: the CPU picks, as events do.
    let fast_resume = match taken {
        Taken::Switched(next) => Resume::Thread(next),
        Taken::Woke => events::schedule(&mut fast),
    };
    let mut slow = Box::new(k.clone());
    syscalls::dispatch(&mut slow, thread);
    let resume = events::schedule(&mut slow);
    assert_eq!(
        resume,
        fast_resume,
        "the fast path ({taken:?}) resumed another thread than the slow path: thread {thread} ran syscall {} \
         with info {:#x} handle {:#x}, capacity {}, and the slow path returned {:#x}",
        k.frame(thread).syscall_number(),
        k.frame(thread).get(ipc_regs::INFO),
        k.frame(thread).get(ipc_regs::HANDLE),
        k.frame(thread).get(ipc_regs::CAPACITY),
        slow.frame(thread).get(regs::RESULT),
    );
    assert_same(
        &snapshot(&fast),
        &snapshot(&slow),
        "fast and slow paths left different states",
    );
    Some(taken)
}

/// The current thread's register-only `call` or `reply_recv` in shared mode
/// (which charges the CPU time itself) against the same charge followed by
/// the fast path with the kernel to itself: if shared mode takes it, it
/// must switch to the same peer and leave the same state; if it declines,
/// it must have changed nothing but the charge. Whether it took it.
fn shared_equals_exclusive(k: &Kernel<MockMachine>, thread: usize) -> bool {
    let frame = k.frame(thread);
    let number = frame.syscall_number();
    if k.sched.current_on(k.machine.cpu) != Some(thread)
        || (number != Syscall::Call as u64 && number != Syscall::ReplyRecv as u64)
        || MsgInfo(frame.get(ipc_regs::INFO)).0 >> 32 > abi::message::MAX_WORDS as u64
    {
        return false;
    }
    let cpu = k.machine.cpu;
    let mut shared = Box::new(k.clone());
    // SAFETY: the copy is borrowed whole (no other CPU), and the message is
    // register-only (checked above).
    let took = unsafe { fastpath::try_shared(&mut *shared, cpu) };
    // The same charge, from the same clock reading (the copies' clocks
    // agree), then the fast path with the kernel to itself.
    let mut exclusive = Box::new(k.clone());
    let now = exclusive.machine.timestamp();
    let ipc = &raw const exclusive.ipc;
    // SAFETY: the copy is borrowed whole; `ipc` is a field the charge only
    // reads, beside the scheduler it changes.
    unsafe { Scheduler::enter_shared(&mut exclusive.sched, cpu, now, |t| (*ipc).payer_of(t)) };
    match took {
        None => assert_same(
            &snapshot(&shared),
            &snapshot(&exclusive),
            "shared mode declined but changed more than the charge",
        ),
        Some(next) => {
            assert_eq!(
                fastpath::try_ipc(&mut exclusive, thread),
                Some(Taken::Switched(next)),
                "shared mode switched to {next}, the kernel to itself did not"
            );
            assert_same(
                &snapshot(&shared),
                &snapshot(&exclusive),
                "shared and exclusive fast paths left different states",
            );
        }
    }
    took.is_some()
}

#[derive(Debug, Default)]
struct Totals {
    steps: u64,
    syscalls: u64,
    fast_taken: u64,
    fast_declined: u64,
    /// Fast calls and replies that moved bytes.
    fast_with_bytes: u64,
    /// Writes the fast path took.
    fast_writes: u64,
    /// Messages the fast path delivered to a peer it then only woke (one
    /// that could not run next on this CPU).
    fast_woke: u64,
    /// Calls and replies the fast path took in shared mode.
    fast_shared: u64,
    ticks: u64,
    faults: u64,
    touches: u64,
    memory_calls_ok: u64,
    signal_calls_ok: u64,
    interrupts: u64,
    finished: u64,
    deadlocks: u64,
    /// Errors a syscall returned that its table entry does not list, with
    /// the registers of the first such call.
    unlisted: BTreeMap<(Syscall, u64), TrapFrame>,
}

/// Runs timer ticks until the CPU has a thread to run or the run ends, for
/// at most a few thousand ticks: every thread may wait forever for an
/// interrupt line that is armed (so the kernel sees no deadlock) but never
/// fires. Then the run ends (`Resume::Idle`).
fn settle_bounded(k: &mut Kernel<MockMachine>, mut resume: Resume) -> Resume {
    for _ in 0..5_000 {
        if resume != Resume::Idle {
            break;
        }
        resume = events::idle_tick(k);
    }
    resume
}

/// One campaign: boots the system and takes random steps until it
/// finishes (then tears it down, checks everything came back, and boots
/// again) or `steps` are done.
fn run(seed: u64, steps: u64, totals: &mut Totals) {
    let mut rng = Rng::new(seed);
    let mut left = steps;
    while left > 0 {
        left -= run_system(seed, left, &mut rng, totals);
    }
}

/// Boots the system once and runs it for at most `steps` steps; returns the
/// steps taken (at least one).
fn run_system(seed: u64, steps: u64, rng: &mut Rng, totals: &mut Totals) -> u64 {
    let (mut k, started) = boot(MANIFEST, 8);
    assert_eq!(started, 7, "every boot program starts");
    check(&k);
    let total_frames = k.frames.total_count();
    let mut resume = first(&mut k);
    let mut taken = 0;
    // The syscall each thread made last, and its process's pid then.
    let mut issued: Vec<Option<(u32, TrapFrame)>> = vec![None; config::MAX_THREADS];
    while taken < steps {
        let Resume::Thread(current) = resume else { break };
        assert_eq!(k.sched.current(), Some(current));
        assert_eq!(k.sched.state(current), RunState::Running);
        taken += 1;
        totals.steps += 1;
        resume = match rng.below(100) {
            0..=4 => {
                totals.ticks += 1;
                events::enter(&mut k, Event::Timer)
            }
            6..=8 => {
                // A touch of memory by ring 3: mostly of its own mappings
                // (made on first touch), sometimes anywhere (a kill).
                let regions: Vec<(u64, u64)> = k
                    .process_of(current)
                    .regions
                    .iter()
                    .map(|r| (r.start, r.pages))
                    .collect();
                let address = match regions.is_empty() || rng.one_in(10) {
                    true => rng.pick(&[0, 0x1000, abi::USER_END + 8, abi::memory::MAP_ARENA]),
                    false => {
                        let (start, pages) = rng.pick(&regions);
                        start + rng.below(pages * PAGE_SIZE)
                    }
                };
                let present = k.process_of(current).space().translate(address).is_some();
                let error_code = u64::from(present) | if rng.one_in(2) { 2 } else { 0 } | 4;
                if present && rng.below(4) != 0 {
                    // A touch of a present page faults only on a protection
                    // violation; mostly, it does not fault at all.
                    events::schedule(&mut k)
                } else {
                    totals.touches += 1;
                    events::enter(
                        &mut k,
                        Event::Fault {
                            vector: 14,
                            error_code,
                            address,
                        },
                    )
                }
            }
            9 if rng.one_in(2) => {
                totals.interrupts += 1;
                let line = rng.pick(&[4, 4, 4, 3, 200]);
                events::enter(&mut k, Event::Interrupt { line })
            }
            5 if rng.one_in(3) => {
                totals.faults += 1;
                events::enter(
                    &mut k,
                    Event::Fault {
                        vector: 14,
                        error_code: 4,
                        address: 0,
                    },
                )
            }
            _ => {
                totals.syscalls += 1;
                check_error_listed(&k, current, &issued, &mut totals.unlisted);
                let frame = random_syscall(&k, current, rng);
                issued[current] = Some((k.process_of(current).pid, frame));
                for (address, bytes) in POKES.with(|p| p.take()) {
                    // The program writes its own memory (a page it touches
                    // for the first time is made, as on a page fault).
                    // (It may have unmapped its stack: then it cannot.)
                    let slice = kernel_core::umem::UserSlice::new(address, bytes.len()).unwrap();
                    if vm::prepare(&mut k, current, slice, kernel_core::umem::Access::Write).is_err() {
                        continue;
                    }
                    poke_as(&mut k, current, address, &bytes);
                }
                *k.frame_mut(current) = frame;
                let number = frame.syscall_number();
                let fast = [Syscall::Call, Syscall::ReplyRecv, Syscall::Write].map(|s| s as u64);
                if fast.contains(&number) {
                    let (taken, shared) = fast_equals_slow(&k, current);
                    totals.fast_shared += shared as u64;
                    if let Some(taken) = taken {
                        totals.fast_taken += 1;
                        if taken == Taken::Woke {
                            totals.fast_woke += 1;
                        }
                        if number == Syscall::Write as u64 {
                            totals.fast_writes += 1;
                        } else if !MsgInfo(frame.get(ipc_regs::INFO)).is_empty() {
                            totals.fast_with_bytes += 1;
                        }
                    } else {
                        totals.fast_declined += 1;
                    }
                }
                if number == Syscall::Call as u64 || number == Syscall::ReplyRecv as u64 {
                    events::ipc(&mut k)
                } else {
                    let resume = if number == Syscall::Write as u64 {
                        events::write(&mut k)
                    } else {
                        events::syscall(&mut k)
                    };
                    let memory = (Syscall::MemMap as u64..=Syscall::MemMapObject as u64).contains(&number);
                    let signals = number >= Syscall::NotifyCreate as u64;
                    let ok = abi::Error::decode(k.frame(current).get(regs::RESULT)).is_ok();
                    if memory && ok {
                        totals.memory_calls_ok += 1;
                    }
                    if signals && ok && k.sched.state(current) == RunState::Running {
                        totals.signal_calls_ok += 1;
                    }
                    resume
                }
            }
        };
        check(&k);
        resume = settle_bounded(&mut k, resume);
    }
    if let Resume::Finished(status) = resume {
        totals.finished += 1;
        if status == abi::machine::EXIT_DEADLOCK {
            totals.deadlocks += 1;
        } else {
            assert_eq!(status, abi::machine::EXIT_SUCCESS);
        }
    }
    for thread in 0..config::MAX_THREADS {
        if matches!(k.sched.state(thread), RunState::Ready | RunState::Running) {
            check_error_listed(&k, thread, &issued, &mut totals.unlisted);
        }
    }
    // Tear everything down: every frame and every handle comes back; only
    // the manifest's endpoints (the kernel's own references) remain.
    k.notices = None;
    for thread in 0..config::MAX_THREADS {
        match k.sched.state(thread) {
            RunState::Free => {}
            RunState::Zombie => wake::reap(&mut k, thread),
            _ => {
                let notice = process::exit_notice(&k, thread, 0);
                process::terminate(&mut k, thread, notice);
            }
        }
        check(&k);
    }
    // Only the time page stays.
    assert_eq!(k.frames.free_count() + 1, total_frames, "seed {seed}: frames leaked");
    assert!(k.records.iter().next().is_none(), "seed {seed}: process records leaked");
    assert_eq!(k.ipc.notification_count(), 0, "seed {seed}: notifications leaked");
    assert!(!k.irqs.armed(), "seed {seed}: a line nobody holds is armed");
    assert_eq!(k.ipc.endpoint_count(), 3, "seed {seed}: endpoints leaked");
    assert!(k.processes.iter().all(|p| !p.is_live()));
    taken.max(1)
}

#[test]
fn random_syscalls_keep_every_invariant_and_fast_equals_slow() {
    on_big_stack(|| {
        let seeds = env_number("MODEL_SEEDS", 8);
        let steps = env_number("MODEL_STEPS", 3_000);
        let mut totals = Totals::default();
        for seed in 0..seeds {
            run(0x6d6f_6465_6c00 + seed, steps, &mut totals);
        }
        let unlisted = std::mem::take(&mut totals.unlisted);
        eprintln!("model: {totals:?}");
        let report: Vec<String> = unlisted
            .iter()
            .map(|((syscall, code), frame)| {
                let name = abi::Error::from_code(*code).map_or("an unknown error", abi::Error::name);
                format!("{syscall} returned {name} ({code}), first with {frame:?}")
            })
            .collect();
        assert!(
            report.is_empty(),
            "errors the ABI table does not list for the syscall that returned them:\n{}",
            report.join("\n")
        );
        // The campaign exercised what it is meant to.
        assert!(totals.fast_taken > 0, "the fast path was never taken: {totals:?}");
        assert!(totals.fast_declined > 0, "the fast path never declined: {totals:?}");
        assert!(
            totals.fast_with_bytes > 0,
            "the fast path never moved bytes: {totals:?}"
        );
        assert!(totals.fast_writes > 0, "the fast path never took a write: {totals:?}");
        assert!(
            totals.fast_woke > 0,
            "the fast path never woke a peer that could not run next: {totals:?}"
        );
        assert!(totals.fast_shared > 0, "shared mode never took a message: {totals:?}");
        assert!(totals.faults > 0 && totals.ticks > 0, "{totals:?}");
        assert!(
            totals.memory_calls_ok > 100,
            "the memory syscalls hardly ever succeeded: {totals:?}"
        );
        assert!(
            totals.signal_calls_ok > 100 && totals.interrupts > 0,
            "the notification and process syscalls hardly ever succeeded: {totals:?}"
        );
    });
}

#[test]
fn every_syscall_of_the_table_is_dispatched() {
    on_big_stack(|| {
        for &syscall in Syscall::ALL {
            let (mut k, _) = boot(MANIFEST, 8);
            let Resume::Thread(current) = first(&mut k) else {
                panic!("nothing runs");
            };
            let frame = k.frame_mut(current);
            frame.set(regs::NUMBER, syscall as u64);
            for reg in regs::ARGS {
                frame.set(reg, 0);
            }
            syscalls::dispatch(&mut k, current);
            let result = abi::Error::decode(k.frame(current).get(regs::RESULT));
            assert_ne!(
                result,
                Err(abi::Error::NOSYS as u64),
                "{} is not dispatched",
                syscall.name()
            );
            check(&k);
        }
    });
}

#[test]
fn an_unknown_syscall_is_enosys_and_changes_nothing_else() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let Resume::Thread(current) = first(&mut k) else {
            panic!("nothing runs");
        };
        k.frame_mut(current).set(regs::NUMBER, 1000);
        let before = snapshot(&k);
        syscalls::dispatch(&mut k, current);
        assert_eq!(
            abi::Error::decode(k.frame(current).get(regs::RESULT)),
            Err(abi::Error::NOSYS as u64)
        );
        let mut after = snapshot(&k);
        after.frames[current].set(regs::RESULT, before.frames[current].get(regs::RESULT));
        after.counters.syscalls -= 1;
        assert_same(&after, &before, "ENOSYS changed the kernel");
    });
}

/// ENOMEM from a buffer page that cannot be made: with the machine's frames
/// used up, every syscall that reads or writes a buffer in a private page
/// not made yet fails with ENOMEM, and its table entry lists it (issue 16:
/// the random campaign rarely runs the machine out of frames).
#[test]
fn a_buffer_page_that_cannot_be_made_is_enomem_for_every_syscall_with_a_buffer() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let _ = first(&mut k);
        let slot = k.processes.iter().position(|p| p.is_live() && p.name == "c1").unwrap();
        let thread = k.processes[slot].thread;
        let call = |k: &mut Kernel<MockMachine>, number: Syscall, args: &[(abi::regs::Reg, u64)]| {
            let frame = k.frame_mut(thread);
            frame.set(regs::NUMBER, number as u64);
            for reg in regs::ARGS.into_iter().chain(ipc_regs::WORDS) {
                frame.set(reg, 0);
            }
            for &(reg, value) in args {
                frame.set(reg, value);
            }
            syscalls::dispatch(k, thread);
            check(k);
            abi::Error::decode(k.frame(thread).get(regs::RESULT))
        };
        let [a0, a1, a2, a3, ..] = regs::ARGS;
        let perms = (abi::memory::Perms::READ | abi::memory::Perms::WRITE).bits();
        // A page never touched, then as much as the limit allows, touched
        // until no frame is left.
        let untouched = call(&mut k, Syscall::MemMap, &[(a0, 0), (a1, PAGE_SIZE), (a2, perms)]).unwrap();
        let room = abi::memory::DEFAULT_MEMORY_PAGES - k.processes[slot].memory.used;
        let big = call(&mut k, Syscall::MemMap, &[(a0, 0), (a1, room * PAGE_SIZE), (a2, perms)]).unwrap();
        let mut page = big;
        loop {
            let slice = kernel_core::umem::UserSlice::new(page, 1).unwrap();
            match vm::prepare(&mut k, thread, slice, kernel_core::umem::Access::Write) {
                Ok(()) => page += PAGE_SIZE,
                Err(error) => {
                    assert_eq!(error, abi::Error::NOMEM, "the machine runs out of frames first");
                    break;
                }
            }
            assert!(
                page < big + room * PAGE_SIZE,
                "the machine has fewer frames than the limit"
            );
        }
        let endpoint = call(&mut k, Syscall::EndpointCreate, &[]).unwrap();
        let info = |len: usize| MsgInfo::new(1, 0, len).0;
        let cases: [(Syscall, Vec<(abi::regs::Reg, u64)>); 9] = [
            (Syscall::Write, vec![(a0, 1), (a1, untouched), (a2, 8)]),
            (Syscall::Stats, vec![(a0, untouched), (a1, 200)]),
            (Syscall::ProcessInfo, vec![(a0, untouched), (a1, 4096)]),
            (Syscall::Spawn, vec![(a0, untouched), (a1, 5), (a2, 0), (a3, 0)]),
            (
                Syscall::Send,
                vec![
                    (ipc_regs::HANDLE, endpoint),
                    (ipc_regs::INFO, info(8)),
                    (ipc_regs::BUFFER, untouched),
                ],
            ),
            (
                Syscall::Reply,
                vec![(ipc_regs::INFO, info(8)), (ipc_regs::BUFFER, untouched)],
            ),
            (
                Syscall::Recv,
                vec![
                    (ipc_regs::HANDLE, endpoint),
                    (ipc_regs::BUFFER, untouched),
                    (ipc_regs::CAPACITY, 8),
                ],
            ),
            (
                Syscall::Call,
                vec![
                    (ipc_regs::HANDLE, endpoint),
                    (ipc_regs::INFO, info(0)),
                    (ipc_regs::BUFFER, untouched),
                    (ipc_regs::CAPACITY, 8),
                ],
            ),
            (
                Syscall::ReplyRecv,
                vec![
                    (ipc_regs::HANDLE, endpoint),
                    (ipc_regs::INFO, info(0)),
                    (ipc_regs::BUFFER, untouched),
                    (ipc_regs::CAPACITY, 8),
                ],
            ),
        ];
        for (syscall, args) in cases {
            let result = call(&mut k, syscall, &args);
            assert_eq!(result, Err(abi::Error::NOMEM as u64), "{syscall}");
            assert!(
                syscall.desc().errors.contains(&abi::Error::NOMEM),
                "{syscall} returns ENOMEM, which its table entry does not list"
            );
        }
    });
}

/// Two CPUs: a server pinned on CPU 1 and its client pinned on CPU 0.
const TWO_CPUS: &str = "manifest 1
endpoint service
program server file=bin/p priority=3 cpus=1
handle service rights=recv
program client file=bin/p priority=3 cpus=0
handle service rights=send
";

/// A call to a server waiting on another CPU, and its reply: each time the
/// fast path takes the message although the peer may not run here, leaves
/// exactly the state the slow path leaves (peer ready, sender blocked),
/// this CPU idles and kicks the peer's, and the kick has the peer run there
/// with the words sent.
#[test]
fn a_message_to_a_peer_on_another_cpu_takes_the_fast_path_and_kicks_that_cpu() {
    on_big_stack(|| {
        let (mut k, _) = boot(TWO_CPUS, 8);
        k.sched.bring_online(1);
        let (server, client) = (thread_of(&k, "server"), thread_of(&k, "client"));
        let handle = |k: &Kernel<MockMachine>, thread: usize| k.process_of(thread).handles.iter().next().unwrap().0;
        let (endpoint, to_server) = (handle(&k, server), handle(&k, client));
        let message = |frame: &mut TrapFrame, number: Syscall, handle: u64, words: &[u64]| {
            frame.set(regs::NUMBER, number as u64);
            frame.set(ipc_regs::HANDLE, handle);
            frame.set(ipc_regs::INFO, MsgInfo::new(5, words.len(), 0).0);
            frame.set(ipc_regs::BUFFER, 0);
            frame.set(ipc_regs::CAPACITY, 0);
            for (reg, word) in ipc_regs::WORDS.iter().zip(words) {
                frame.set(*reg, *word);
            }
        };
        let words = |k: &Kernel<MockMachine>, thread: usize| ipc_regs::WORDS.map(|reg| k.frame(thread).get(reg));

        // CPU 1 runs the server, which waits for work; CPU 1 idles.
        k.machine.cpu = 1;
        assert_eq!(events::idle_kick(&mut k), Resume::Thread(server));
        message(k.frame_mut(server), Syscall::Recv, endpoint, &[]);
        assert_eq!(events::syscall(&mut k), Resume::Idle);
        check(&k);

        // CPU 0 runs the client, which calls: the fast path delivers, wakes
        // the server, blocks the client; CPU 0 idles and kicks CPU 1.
        k.machine.cpu = 0;
        assert_eq!(events::idle_kick(&mut k), Resume::Thread(client));
        message(k.frame_mut(client), Syscall::Call, to_server, &[1, 2, 3]);
        assert_eq!(fast_equals_slow(&k, client), (Some(Taken::Woke), false));
        k.machine.kicked = 0;
        assert_eq!(events::ipc(&mut k), Resume::Idle);
        assert_eq!(k.machine.kicked, 1 << 1, "CPU 1 is kicked");
        assert_eq!(
            k.machine.prefers_lock,
            1 << 0,
            "CPU 0's next IPC skips shared mode (its peer was elsewhere)"
        );
        assert_eq!(k.sched.state(server), RunState::Ready);
        assert_eq!(k.sched.state(client), RunState::Blocked);
        check(&k);

        // CPU 1 takes the kick: the server runs with the words.
        k.machine.cpu = 1;
        assert_eq!(events::idle_kick(&mut k), Resume::Thread(server));
        assert_eq!(words(&k, server)[..3], [1, 2, 3]);
        assert_eq!(k.frame(server).get(regs::RESULT), 0);

        // The reply comes back the same way, and the server waits again.
        message(k.frame_mut(server), Syscall::ReplyRecv, endpoint, &[7, 8]);
        assert_eq!(fast_equals_slow(&k, server), (Some(Taken::Woke), false));
        k.machine.kicked = 0;
        assert_eq!(events::ipc(&mut k), Resume::Idle);
        assert_eq!(k.machine.kicked, 1 << 0, "CPU 0 is kicked");
        assert_eq!(k.machine.prefers_lock, 1 << 0 | 1 << 1, "and so does CPU 1's");
        k.machine.cpu = 0;
        assert_eq!(events::idle_kick(&mut k), Resume::Thread(client));
        assert_eq!(words(&k, client)[..2], [7, 8]);
        assert_eq!(k.frame(client).get(regs::RESULT), 0);
        assert_eq!(k.sched.state(server), RunState::Blocked);
        check(&k);
    });
}
