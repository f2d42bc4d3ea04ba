//! Host tests of notifications, interrupt lines and process handles: each
//! boots a small system on the mock machine and drives it through the
//! kernel's entry points (`events`), making syscalls as the current
//! program would.

mod support;

use abi::message::{MsgFlags, NOTIFICATION_LABEL};
use abi::process::{Ending, Info, State};
use abi::regs::{self, ipc as ipc_regs};
use abi::{Error, MsgInfo, Rights, Syscall};
use kernel_core::events::{self, Event, Resume};
use kernel_core::handles::{HandleEntry, Object};
use kernel_core::ipc::state::IpcState;
use kernel_core::kernel::Kernel;
use kernel_core::sched::RunState;
use support::{MockMachine, boot, check, first, on_big_stack, peek_as, poke_as, settle, thread_of};

/// `driver` (highest) owns line 4 and serves `svc`; `parent` may spawn
/// `child`; `other` is a third process; `client` calls `svc`.
const MANIFEST: &str = "manifest 1
endpoint console notices
endpoint svc
program driver file=bin/p priority=6 irqs=4
handle svc rights=recv
program parent file=bin/p priority=5 spawns=child
handle console rights=send
program other file=bin/p priority=4
handle console rights=send
program client file=bin/p priority=3
handle svc rights=send
program child file=bin/p priority=2 start=spawn
handle svc rights=send
";

/// The current thread makes a syscall; returns what runs next.
fn syscall(k: &mut Kernel<MockMachine>, number: Syscall, args: &[u64]) -> Resume {
    let current = k.sched.current().expect("a thread runs");
    let frame = k.frame_mut(current);
    frame.set(regs::NUMBER, number as u64);
    for (reg, value) in regs::ARGS.iter().zip(args.iter().chain(core::iter::repeat(&0))) {
        frame.set(*reg, *value);
    }
    let resume = events::syscall(k);
    check(k);
    settle(k, resume)
}

/// The result `thread` got from its last syscall.
fn result(k: &Kernel<MockMachine>, thread: usize) -> Result<u64, Error> {
    Error::decode(k.frame(thread).get(regs::RESULT)).map_err(|code| Error::from_code(code).unwrap())
}

/// The current thread's syscall, which must not block: its result.
fn quick(k: &mut Kernel<MockMachine>, number: Syscall, args: &[u64]) -> Result<u64, Error> {
    let current = k.sched.current().unwrap();
    let resume = syscall(k, number, args);
    assert_eq!(resume, Resume::Thread(current), "{number} did not block");
    result(k, current)
}

/// Gives `thread`'s process a handle to what `entry` names (as a message
/// would): the host tests' shortcut for passing handles.
fn give(k: &mut Kernel<MockMachine>, thread: usize, entry: HandleEntry) -> u64 {
    let process = k.thread(thread).process;
    let handle = k.processes[process].handles.insert(entry).unwrap();
    kernel_core::objects::opened(k, process, entry).unwrap();
    handle
}

fn entry_of(k: &Kernel<MockMachine>, thread: usize, handle: u64) -> HandleEntry {
    k.process_of(thread).handles.get(handle).unwrap()
}

#[test]
fn notify_wait_blocks_until_signalled_and_times_out() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        assert_eq!(first(&mut k), Resume::Thread(thread_of(&k, "driver")));
        let driver = thread_of(&k, "driver");
        // The driver makes a notification and waits on it.
        let n = quick(&mut k, Syscall::NotifyCreate, &[]).unwrap();
        assert_eq!(
            entry_of(&k, driver, n).rights,
            Rights::SIGNAL | Rights::WAIT | Rights::TRANSFER
        );
        assert_eq!(quick(&mut k, Syscall::NotifyWait, &[n, 0, 2]), Err(Error::INVAL));
        assert_eq!(
            quick(&mut k, Syscall::NotifyWait, &[n, 0, abi::notify::NONBLOCK]),
            Err(Error::TIMEDOUT)
        );
        let badged = HandleEntry {
            badge: 0x100,
            rights: Rights::SIGNAL,
            ..entry_of(&k, driver, n)
        };
        let parent = thread_of(&k, "parent");
        let signal = give(&mut k, parent, badged);
        assert_eq!(syscall(&mut k, Syscall::NotifyWait, &[n, 0, 0]), Resume::Thread(parent));
        assert_eq!(k.ipc.state(driver), IpcState::Waiting { notification: 0 });
        // A signal through a badged handle carries the badge too; the
        // driver (higher priority) runs at once.
        assert_eq!(
            quick(&mut k, Syscall::NotifyWait, &[signal, 0, 0]),
            Err(Error::NORIGHTS)
        );
        assert_eq!(
            syscall(&mut k, Syscall::Notify, &[signal, 0b101]),
            Resume::Thread(driver)
        );
        assert_eq!(result(&k, driver), Ok(0));
        assert_eq!(k.frame(driver).get(regs::SECOND_RESULT), 0x105);
        // Bits pending are taken without waiting.
        let _ = syscall(&mut k, Syscall::Yield, &[]);
        // A wait with a timeout ends with ETIMEDOUT.
        let resume = syscall(&mut k, Syscall::NotifyWait, &[n, 3, 0]);
        assert_ne!(resume, Resume::Thread(driver));
        let mut resume = resume;
        while k.sched.state(driver) == RunState::Blocked {
            resume = events::enter(&mut k, Event::Timer);
            resume = settle(&mut k, resume);
        }
        let _ = resume;
        assert_eq!(result(&k, driver), Err(Error::TIMEDOUT));
        check(&k);
    });
}

#[test]
fn an_interrupt_reaches_the_driver_through_its_bound_endpoint() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let driver = thread_of(&k, "driver");
        assert_eq!(first(&mut k), Resume::Thread(driver));
        // Handle 0: svc (recv); handle 1: line 4.
        let irq = 1;
        assert_eq!(entry_of(&k, driver, irq).object, Object::Irq(4));
        assert!(k.machine.unmasked.is_empty(), "a line nobody bound stays masked");
        let n = quick(&mut k, Syscall::NotifyCreate, &[]).unwrap();
        assert_eq!(quick(&mut k, Syscall::IrqAck, &[irq]), Err(Error::INVAL));
        assert_eq!(quick(&mut k, Syscall::IrqBind, &[irq, n, 0]), Err(Error::INVAL));
        assert_eq!(quick(&mut k, Syscall::IrqBind, &[n, n, 1]), Err(Error::WRONGKIND));
        quick(&mut k, Syscall::IrqBind, &[irq, n, 0b10]).unwrap();
        assert_eq!(k.machine.unmasked, [4]);
        quick(&mut k, Syscall::NotifyBind, &[n, 0]).unwrap();
        assert_eq!(quick(&mut k, Syscall::NotifyBind, &[n, 0]), Err(Error::EXIST));
        // The driver waits to receive; the client runs... until line 4
        // fires.
        let resume = syscall(&mut k, Syscall::Recv, &[0, 0, 0, 0]);
        assert_ne!(resume, Resume::Thread(driver));
        let resume = events::enter(&mut k, Event::Interrupt { line: 4 });
        check(&k);
        assert_eq!(settle(&mut k, resume), Resume::Thread(driver));
        assert!(k.machine.unmasked.is_empty(), "masked until the driver acks");
        let frame = k.frame(driver);
        let info = MsgInfo(frame.get(ipc_regs::INFO));
        assert_eq!(info.label(), NOTIFICATION_LABEL);
        assert!(info.flags().contains(MsgFlags::KERNEL));
        assert_eq!((frame.get(ipc_regs::WORDS[0]), frame.get(ipc_regs::BADGE)), (0b10, 0));
        // Another interrupt while masked is not delivered; the ack unmasks.
        quick(&mut k, Syscall::IrqAck, &[irq]).unwrap();
        assert_eq!(k.machine.unmasked, [4]);
        // Firing while the driver runs leaves the bits pending for its
        // next receive, which returns at once.
        let _ = events::enter(&mut k, Event::Interrupt { line: 4 });
        assert_eq!(syscall(&mut k, Syscall::Recv, &[0, 0, 0, 0]), Resume::Thread(driver));
        assert_eq!(k.frame(driver).get(ipc_regs::WORDS[0]), 0b10);
        // When the driver dies, its line is masked and unbound.
        quick(&mut k, Syscall::IrqAck, &[irq]).unwrap();
        let _ = syscall(&mut k, Syscall::Exit, &[0]);
        assert!(k.machine.unmasked.is_empty());
        assert_eq!(k.irqs.get(4).binding, None);
        let _ = events::enter(&mut k, Event::Interrupt { line: 4 });
        check(&k);
    });
}

#[test]
fn a_parent_waits_for_kills_and_watches_its_child() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let driver = thread_of(&k, "driver");
        assert_eq!(first(&mut k), Resume::Thread(driver));
        // The driver waits for work; the parent runs.
        let parent = thread_of(&k, "parent");
        assert_eq!(syscall(&mut k, Syscall::Recv, &[0, 0, 0, 0]), Resume::Thread(parent));
        // Spawn: the name lies on the parent's stack.
        let name = kernel_core::config::USER_STACK_TOP - 64;
        poke_as(&mut k, parent, name, b"child");
        let child = quick(&mut k, Syscall::Spawn, &[name, 5]).unwrap();
        let pid = k.frame(parent).get(regs::SECOND_RESULT);
        let child_thread = thread_of(&k, "child");
        assert_eq!(k.process_of(child_thread).pid as u64, pid);
        assert_eq!(
            entry_of(&k, parent, child).rights,
            Rights::WAIT | Rights::KILL | Rights::TRANSFER
        );
        assert_eq!(
            quick(&mut k, Syscall::ProcessWait, &[child, 0, abi::notify::NONBLOCK]),
            Err(Error::TIMEDOUT)
        );
        // A watch on a notification; a WAIT-only copy for the third process.
        let n = quick(&mut k, Syscall::NotifyCreate, &[]).unwrap();
        quick(&mut k, Syscall::ProcessWatch, &[child, n, 0x40]).unwrap();
        let other = thread_of(&k, "other");
        let waiter_copy = HandleEntry {
            rights: Rights::WAIT,
            ..entry_of(&k, parent, child)
        };
        let copy = give(&mut k, other, waiter_copy);
        // ps: every live process, in pid order.
        let buffer = kernel_core::config::USER_STACK_TOP - 4096;
        let count = quick(&mut k, Syscall::ProcessInfo, &[buffer, 4096]).unwrap();
        assert_eq!(count, 5);
        let bytes = peek_as(&k, parent, buffer, Info::SIZE * 5);
        let infos: Vec<Info> = bytes.chunks(Info::SIZE).map(|b| Info::from_bytes(b).unwrap()).collect();
        assert_eq!(infos[0].name(), "driver");
        assert_eq!(infos[0].state(), Some(State::Blocked));
        assert_eq!(infos[1].state(), Some(State::Running));
        assert_eq!(infos[4].name(), "child");
        assert!(infos.windows(2).all(|w| w[0].pid < w[1].pid));
        assert_eq!(quick(&mut k, Syscall::ProcessInfo, &[buffer, 0]), Ok(5));
        assert_eq!(quick(&mut k, Syscall::ProcessInfo, &[0x10, 64]), Err(Error::FAULT));
        // The parent blocks in process_wait; the third process waits too.
        assert_eq!(
            syscall(&mut k, Syscall::ProcessWait, &[child, 0, 0]),
            Resume::Thread(other)
        );
        assert_eq!(quick(&mut k, Syscall::ProcessKill, &[copy]), Err(Error::NORIGHTS));
        let _ = syscall(&mut k, Syscall::ProcessWait, &[copy, 0, 0]);
        // The rest run until the child waits in a call to svc: the driver
        // receives, the client exits, the child calls.
        let client = thread_of(&k, "client");
        let mut steps = 0;
        while k.sched.state(child_thread) != RunState::Blocked {
            let current = k.sched.current().expect("someone runs");
            let number = match current {
                _ if current == driver => Syscall::Recv,
                _ if current == client => Syscall::Exit,
                _ => Syscall::Call,
            };
            let _ = syscall(&mut k, number, &[0, 0, 0, 0]);
            steps += 1;
            assert!(steps < 50);
        }
        assert!(matches!(
            k.ipc.state(child_thread),
            IpcState::Sending { .. } | IpcState::AwaitingReply { .. }
        ));
        // Killing it from the driver (given a KILL handle) ends it in its
        // call, wakes both waiters and signals the watch.
        let killer = HandleEntry {
            rights: Rights::KILL,
            ..waiter_copy
        };
        let current = k.sched.current().unwrap();
        let kill = give(&mut k, current, killer);
        let killer_pid = k.process_of(current).pid as u64;
        assert_eq!(quick(&mut k, Syscall::ProcessKill, &[kill]), Ok(0));
        assert_eq!(k.sched.state(child_thread), RunState::Free);
        for waiter in [parent, other] {
            assert_eq!(result(&k, waiter), Ok(Ending::Killed as u64));
            assert_eq!(k.frame(waiter).get(regs::SECOND_RESULT), killer_pid);
            assert_ne!(k.sched.state(waiter), RunState::Blocked);
        }
        assert_eq!(k.ipc.pending_bits(0), 0x40);
        assert_eq!(quick(&mut k, Syscall::ProcessKill, &[kill]), Err(Error::PEERGONE));
        check(&k);
    });
}

#[test]
fn a_record_outlives_the_child_until_the_last_handle_closes() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let driver = thread_of(&k, "driver");
        let parent = thread_of(&k, "parent");
        assert_eq!(first(&mut k), Resume::Thread(driver));
        assert_eq!(syscall(&mut k, Syscall::Recv, &[0, 0, 0, 0]), Resume::Thread(parent));
        let name = kernel_core::config::USER_STACK_TOP - 64;
        poke_as(&mut k, parent, name, b"child");
        let child = quick(&mut k, Syscall::Spawn, &[name, 5]).unwrap();
        let child_thread = thread_of(&k, "child");
        let records_before = k.records.count();
        assert_eq!(records_before, 1);
        // Kill it via the parent itself: the child's slot is freed once
        // the notice is delivered, the record stays.
        quick(&mut k, Syscall::ProcessKill, &[child]).unwrap();
        // Nobody receives notices here: the kernel logs it and frees the
        // slots at once.
        assert_eq!(k.sched.state(child_thread), RunState::Free);
        assert_eq!(
            quick(&mut k, Syscall::ProcessWait, &[child, 0, 0]),
            Ok(Ending::Killed as u64)
        );
        assert_eq!(k.records.count(), 1);
        quick(&mut k, Syscall::HandleClose, &[child]).unwrap();
        assert_eq!(k.records.count(), 0);
        check(&k);
    });
}
