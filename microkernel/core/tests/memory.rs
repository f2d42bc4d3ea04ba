//! Host tests of memory for programs: private mappings made on first touch,
//! memory objects shared between processes through handles, the memory
//! limit, and the places nothing may be mapped. Each test boots a small
//! system on the mock machine and makes syscalls as its programs would.

mod support;

use abi::memory::{MAP_ARENA, MAP_END, Perms};
use abi::message::MsgFlags;
use abi::regs::{self, ipc as ipc_regs};
use abi::{Error, MsgInfo, PAGE_SIZE, Syscall};
use kernel_core::events::{self, Resume};
use kernel_core::kernel::Kernel;
use kernel_core::machine::Machine;
use kernel_core::sched::RunState;
use kernel_core::space::AddressSpace;
use support::{MockMachine, TEXT, boot, check, first, on_big_stack, peek_as, poke_as, thread_of};

/// A server (higher priority) and two clients; the server receives on
/// `shared`, the clients may send to it and pass handles. `small` has a
/// memory limit of 24 pages (its image and stack take 17).
const MANIFEST: &str = "manifest 1
endpoint console notices
endpoint shared
program server file=bin/p priority=5
handle console rights=send
handle shared rights=recv
program client file=bin/p priority=3
handle console rights=send
handle shared rights=send,transfer
program small file=bin/p priority=3 memory=24
handle console rights=send
handle shared rights=send,transfer
";

const R: u64 = Perms::READ.bits();
const RW: u64 = Perms::READ.bits() | Perms::WRITE.bits();

/// Makes `thread` the one the machine runs (for syscalls that do not
/// block, the scheduler's choice does not matter).
fn run_as(k: &mut Kernel<MockMachine>, thread: usize) {
    let top = k.frame_top(thread);
    let switch = k.thread(thread).switch;
    k.machine.switch_to(thread, top, &switch);
}

/// A syscall that does not block, made by `thread`.
fn syscall(k: &mut Kernel<MockMachine>, thread: usize, number: Syscall, args: &[u64]) -> Result<u64, Error> {
    run_as(k, thread);
    let frame = k.frame_mut(thread);
    frame.set(regs::NUMBER, number as u64);
    for (reg, value) in regs::ARGS.iter().zip(args) {
        frame.set(*reg, *value);
    }
    kernel_core::syscalls::dispatch(k, thread);
    check(k);
    let result = k.frame(thread).get(regs::RESULT);
    Error::decode(result).map_err(|code| Error::from_code(code).unwrap())
}

/// Ring 3 of `thread` touches `address` (a write if `write`): a page fault
/// if the page is missing or does not allow it, handled as the kernel's
/// entry handles one (`events::enter`). Returns whether the thread lives on.
fn touch(k: &mut Kernel<MockMachine>, thread: usize, address: u64, write: bool) -> bool {
    run_as(k, thread);
    let present = match k.process_of(thread).space().translate(address) {
        Some((_, flags)) if !write || flags.writable => return true,
        Some(_) => true,
        None => false,
    };
    if kernel_core::vm::fault(k, thread, address, write, present) {
        check(k);
        return true;
    }
    let notice = kernel_core::process::fault_notice(k, thread, 14, 4 | u64::from(write) << 1, address);
    kernel_core::process::terminate(k, thread, notice);
    check(k);
    false
}

#[test]
fn private_memory_is_made_on_first_touch_and_given_back() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let client = thread_of(&k, "client");
        let free = k.frames.free_count();
        let used = k.process_of(client).memory.used;
        let address = syscall(&mut k, client, Syscall::MemMap, &[0, 4 * PAGE_SIZE, RW]).unwrap();
        assert_eq!(address, MAP_ARENA);
        // Charged now, made later.
        assert_eq!(k.process_of(client).memory.used, used + 4);
        assert_eq!(k.frames.free_count(), free);
        let _ = first(&mut k);
        assert!(touch(&mut k, client, address + PAGE_SIZE + 8, true));
        assert_eq!(k.frames.free_count(), free - 1);
        // The next mapping at 0 goes after the first.
        let next = syscall(&mut k, client, Syscall::MemMap, &[0, PAGE_SIZE, R]).unwrap();
        assert_eq!(next, MAP_ARENA + 4 * PAGE_SIZE);
        // Unmapping the middle splits the region and gives back its page.
        syscall(&mut k, client, Syscall::MemUnmap, &[address + PAGE_SIZE, PAGE_SIZE]).unwrap();
        assert_eq!(k.frames.free_count(), free);
        assert_eq!(k.process_of(client).memory.used, used + 4);
        syscall(&mut k, client, Syscall::MemUnmap, &[address, 5 * PAGE_SIZE]).unwrap();
        assert_eq!(k.process_of(client).memory.used, used);
    });
}

#[test]
fn mappings_stay_out_of_the_kernel_the_guard_the_image_and_each_other() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let client = thread_of(&k, "client");
        let map = |k: &mut Kernel<MockMachine>, address: u64, len: u64, perms: u64| {
            syscall(k, client, Syscall::MemMap, &[address, len, perms])
        };
        assert_eq!(
            map(&mut k, 0, PAGE_SIZE, RW | Perms::EXEC.bits()),
            Err(Error::INVAL),
            "W+X"
        );
        assert_eq!(
            map(&mut k, 0, PAGE_SIZE, Perms::WRITE.bits()),
            Err(Error::INVAL),
            "no READ"
        );
        assert_eq!(map(&mut k, 0, 0, R), Err(Error::INVAL));
        assert_eq!(map(&mut k, 0, 100, R), Err(Error::INVAL));
        assert_eq!(map(&mut k, MAP_ARENA + 1, PAGE_SIZE, R), Err(Error::INVAL));
        assert_eq!(map(&mut k, TEXT, PAGE_SIZE, R), Err(Error::EXIST), "over the image");
        assert_eq!(map(&mut k, 0x1000, PAGE_SIZE, R), Err(Error::INVAL), "the null pages");
        assert_eq!(map(&mut k, MAP_END, PAGE_SIZE, R), Err(Error::INVAL), "the guard page");
        assert_eq!(
            map(&mut k, abi::USER_END - PAGE_SIZE, PAGE_SIZE, R),
            Err(Error::INVAL),
            "the stack"
        );
        assert_eq!(
            map(&mut k, 0xffff_8000_0000_0000, PAGE_SIZE, R),
            Err(Error::INVAL),
            "the kernel"
        );
        assert_eq!(map(&mut k, !0xfffu64, 2 * PAGE_SIZE, R), Err(Error::INVAL), "wrapping");
        let at = map(&mut k, MAP_ARENA + 8 * PAGE_SIZE, 2 * PAGE_SIZE, R).unwrap();
        assert_eq!(at, MAP_ARENA + 8 * PAGE_SIZE);
        assert_eq!(map(&mut k, at + PAGE_SIZE, PAGE_SIZE, R), Err(Error::EXIST));
        // Protect: W+X is refused, and so is a range with a hole.
        let protect = |k: &mut Kernel<MockMachine>, address: u64, len: u64, perms: u64| {
            syscall(k, client, Syscall::MemProtect, &[address, len, perms])
        };
        assert_eq!(protect(&mut k, at, PAGE_SIZE, 7), Err(Error::INVAL));
        assert_eq!(protect(&mut k, at, 3 * PAGE_SIZE, RW), Err(Error::INVAL));
        protect(&mut k, at, PAGE_SIZE, RW).unwrap();
        let _ = first(&mut k);
        assert!(touch(&mut k, client, at, true));
        assert!(
            !touch(&mut k, client, at + PAGE_SIZE, true),
            "a write to a read-only page kills"
        );
    });
}

#[test]
fn the_memory_limit_refuses_and_a_touch_beyond_the_guard_kills() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let small = thread_of(&k, "small");
        let client = thread_of(&k, "client");
        assert_eq!(k.process_of(small).memory.limit, 24);
        let left = 24 - k.process_of(small).memory.used;
        assert_eq!(
            syscall(&mut k, small, Syscall::MemMap, &[0, (left + 1) * PAGE_SIZE, RW]),
            Err(Error::NOMEM)
        );
        syscall(&mut k, small, Syscall::MemMap, &[0, left * PAGE_SIZE, RW]).unwrap();
        assert_eq!(
            syscall(&mut k, small, Syscall::MemMap, &[0, PAGE_SIZE, RW]),
            Err(Error::NOMEM)
        );
        assert_eq!(
            syscall(&mut k, small, Syscall::MemCreate, &[PAGE_SIZE]),
            Err(Error::NOMEM)
        );
        // A bystander goes on.
        syscall(&mut k, client, Syscall::MemMap, &[0, 8 * PAGE_SIZE, RW]).unwrap();
        let _ = first(&mut k);
        let guard = abi::USER_END - (abi::memory::STACK_PAGES + 1) * PAGE_SIZE;
        assert!(!touch(&mut k, client, guard + 8, true), "the guard page kills");
    });
}

/// Runs the current thread's syscall through the kernel's entry, as the
/// `syscall` instruction would.
fn enter(
    k: &mut Kernel<MockMachine>,
    number: Syscall,
    set: impl FnOnce(&mut kernel_core::trapframe::TrapFrame),
) -> Resume {
    let current = k.sched.current().unwrap();
    run_as(k, current);
    let frame = k.frame_mut(current);
    frame.set(regs::NUMBER, number as u64);
    set(frame);
    let resume = if matches!(number, Syscall::Call | Syscall::ReplyRecv) {
        events::ipc(k)
    } else {
        events::syscall(k)
    };
    check(k);
    resume
}

#[test]
fn an_object_passed_in_a_message_is_shared_and_outlives_its_creator() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let (server, client) = (thread_of(&k, "server"), thread_of(&k, "client"));
        let free_at_start = k.frames.free_count();
        // The server runs first (highest priority) and waits.
        assert_eq!(first(&mut k), Resume::Thread(server));
        let server_endpoint = k.process_of(server).handles.iter().nth(1).unwrap().0;
        let stack_low = abi::USER_END - abi::memory::STACK_PAGES * PAGE_SIZE;
        let resume = enter(&mut k, Syscall::Recv, |f| {
            f.set(ipc_regs::HANDLE, server_endpoint);
            f.set(ipc_regs::INFO, 0);
            f.set(ipc_regs::BUFFER, stack_low);
            f.set(ipc_regs::CAPACITY, 64);
        });
        let Resume::Thread(running) = resume else { panic!() };
        // The client creates an object, maps it, writes it, and sends it.
        let _ = running;
        while k.sched.current() != Some(client) {
            k.sched.request_yield();
            events::schedule(&mut k);
        }
        let object = syscall(&mut k, client, Syscall::MemCreate, &[2 * PAGE_SIZE]).unwrap();
        let mapped = syscall(&mut k, client, Syscall::MemMapObject, &[object, 0, RW]).unwrap();
        poke_as(&mut k, client, mapped + 100, b"shared");
        let client_endpoint = k.process_of(client).handles.iter().nth(1).unwrap().0;
        let resume = enter(&mut k, Syscall::Send, |f| {
            f.set(ipc_regs::HANDLE, client_endpoint);
            f.set(ipc_regs::INFO, MsgInfo::new(1, 1, 0).with_flags(MsgFlags::HANDLE).0);
            f.set(ipc_regs::WORDS[0], object);
        });
        assert_eq!(resume, Resume::Thread(server), "the server takes the message");
        assert_eq!(Error::decode(k.frame(client).get(regs::RESULT)), Ok(0));
        let received = k.frame(server).get(ipc_regs::WORDS[0]);
        // The server maps the object read-only and sees the client's bytes.
        let seen = syscall(&mut k, server, Syscall::MemMapObject, &[received, 0, R]).unwrap();
        let server_process = k.thread(server).process;
        assert_eq!(peek_as(&k, server, seen + 100, 6), b"shared");
        // Both count the object against their limits, each once.
        assert!(k.processes[server_process].memory.used >= 2);
        // The client closes its handle and exits: the server's mapping
        // keeps the pages (no revocation).
        syscall(&mut k, client, Syscall::HandleClose, &[object]).unwrap();
        let notice = kernel_core::process::exit_notice(&k, client, 0);
        kernel_core::process::terminate(&mut k, client, notice);
        check(&k);
        assert_eq!(peek_as(&k, server, seen + 100, 6), b"shared");
        assert_eq!(k.memory.count(), 1);
        // The server's last reference goes: the pages come back.
        syscall(&mut k, server, Syscall::HandleClose, &[received]).unwrap();
        assert_eq!(k.memory.count(), 1, "the mapping still holds it");
        syscall(&mut k, server, Syscall::MemUnmap, &[seen, 2 * PAGE_SIZE]).unwrap();
        assert_eq!(k.memory.count(), 0);
        // Everything the client had is back too (its zombie notice waits
        // for the console, which does not run here).
        let server_used = k.processes[server_process].memory.used;
        assert!(
            k.frames.free_count() + 17 >= free_at_start,
            "{} {}",
            k.frames.free_count(),
            free_at_start
        );
        let _ = server_used;
    });
}

#[test]
fn a_receiver_past_its_limit_refuses_an_object_and_the_sender_learns_it() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let (server, small) = (thread_of(&k, "server"), thread_of(&k, "small"));
        let _ = first(&mut k);
        // The server's limit is the default; make it tight for this test.
        let server_process = k.thread(server).process;
        let used = k.processes[server_process].memory.used;
        k.processes[server_process].memory.limit = used + 1;
        let server_endpoint = k.process_of(server).handles.iter().nth(1).unwrap().0;
        let stack_low = abi::USER_END - abi::memory::STACK_PAGES * PAGE_SIZE;
        enter(&mut k, Syscall::Recv, |f| {
            f.set(ipc_regs::HANDLE, server_endpoint);
            f.set(ipc_regs::INFO, 0);
            f.set(ipc_regs::BUFFER, stack_low);
            f.set(ipc_regs::CAPACITY, 0);
        });
        while k.sched.current() != Some(small) {
            k.sched.request_yield();
            events::schedule(&mut k);
        }
        let object = syscall(&mut k, small, Syscall::MemCreate, &[2 * PAGE_SIZE]).unwrap();
        let endpoint = k.process_of(small).handles.iter().nth(1).unwrap().0;
        enter(&mut k, Syscall::Send, |f| {
            f.set(ipc_regs::HANDLE, endpoint);
            f.set(ipc_regs::INFO, MsgInfo::new(1, 1, 0).with_flags(MsgFlags::HANDLE).0);
            f.set(ipc_regs::WORDS[0], object);
        });
        assert_eq!(
            Error::decode(k.frame(small).get(regs::RESULT)),
            Err(Error::NOMEM as u64),
            "the receiver's limit cannot take the object"
        );
        assert_eq!(k.sched.state(server), RunState::Blocked, "the server goes on waiting");
    });
}

#[test]
fn a_buffer_unmapped_between_two_receives_is_refused_the_second_time() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let server = thread_of(&k, "server");
        let _ = first(&mut k);
        let buffer = syscall(&mut k, server, Syscall::MemMap, &[0, PAGE_SIZE, RW]).unwrap();
        let endpoint = k.process_of(server).handles.iter().nth(1).unwrap().0;
        let receive = |k: &mut Kernel<MockMachine>| {
            enter(k, Syscall::ReplyRecv, |f| {
                f.set(ipc_regs::HANDLE, endpoint);
                f.set(ipc_regs::INFO, MsgInfo::new(0, 0, 0).with_timeout(1).0);
                f.set(ipc_regs::BUFFER, buffer);
                f.set(ipc_regs::CAPACITY, 64);
            })
        };
        receive(&mut k);
        assert_eq!(k.sched.state(server), RunState::Blocked);
        assert!(k.thread(server).buffers.receives(buffer, 64));
        // Its wait times out; it unmaps the buffer and receives again.
        while k.sched.state(server) == RunState::Blocked {
            events::idle_tick(&mut k);
        }
        while k.sched.current() != Some(server) {
            events::schedule(&mut k);
        }
        syscall(&mut k, server, Syscall::MemUnmap, &[buffer, PAGE_SIZE]).unwrap();
        assert_eq!(
            k.thread(server).buffers,
            kernel_core::umem::CheckedBuffers::NONE,
            "the record of the checked buffer is gone"
        );
        receive(&mut k);
        assert_eq!(
            Error::decode(k.frame(server).get(regs::RESULT)),
            Err(Error::FAULT as u64)
        );
    });
}

/// Writes `bytes` into `thread`'s memory at `address` as ring 3 would
/// (making the page first).
fn write_as(k: &mut Kernel<MockMachine>, thread: usize, address: u64, bytes: &[u8]) {
    assert!(touch(k, thread, address, true));
    poke_as(k, thread, address, bytes);
}

/// Whether the fast path would take the current thread's syscall (tried
/// on a copy of the kernel).
fn fast_path_takes(k: &Kernel<MockMachine>, thread: usize) -> bool {
    kernel_core::ipc::fastpath::try_ipc(&mut Box::new(k.clone()), thread).is_some()
}

#[test]
fn the_fast_path_moves_bytes_only_into_pages_still_mapped() {
    on_big_stack(|| {
        let (mut k, _) = boot(MANIFEST, 8);
        let (server, client) = (thread_of(&k, "server"), thread_of(&k, "client"));
        let page = syscall(&mut k, server, Syscall::MemMap, &[0, PAGE_SIZE, RW]).unwrap();
        let out = syscall(&mut k, client, Syscall::MemMap, &[0, PAGE_SIZE, RW]).unwrap();
        let endpoint = k.process_of(server).handles.iter().nth(1).unwrap().0;
        let to_server = k.process_of(client).handles.iter().nth(1).unwrap().0;
        let mut resume = first(&mut k);
        let message = |f: &mut kernel_core::trapframe::TrapFrame, handle: u64, buffer: u64| {
            f.set(ipc_regs::HANDLE, handle);
            f.set(ipc_regs::INFO, MsgInfo::new(7, 0, 64).0);
            f.set(ipc_regs::BUFFER, buffer);
            f.set(ipc_regs::CAPACITY, 64);
        };
        // The server waits with nothing to send yet; then the client and
        // the server exchange 64 bytes each way, three times: the first
        // round checks and remembers every buffer (the slow path), the
        // later ones take the fast path.
        assert_eq!(resume, Resume::Thread(server));
        resume = enter(&mut k, Syscall::Recv, |f| message(f, endpoint, page));
        for round in 0..3u8 {
            while resume != Resume::Thread(client) {
                resume = events::schedule(&mut k);
            }
            write_as(&mut k, client, out, &[round; 64]);
            k.frame_mut(client).set(regs::NUMBER, Syscall::Call as u64);
            message(k.frame_mut(client), to_server, out);
            assert_eq!(fast_path_takes(&k, client), round > 0, "round {round}: the call");
            resume = enter(&mut k, Syscall::Call, |f| message(f, to_server, out));
            assert_eq!(resume, Resume::Thread(server));
            assert_eq!(peek_as(&k, server, page, 64), [round; 64], "round {round}");
            write_as(&mut k, server, page, &[round | 0x80; 64]);
            k.frame_mut(server).set(regs::NUMBER, Syscall::ReplyRecv as u64);
            message(k.frame_mut(server), endpoint, page);
            assert_eq!(fast_path_takes(&k, server), round > 0, "round {round}: the reply");
            resume = enter(&mut k, Syscall::ReplyRecv, |f| message(f, endpoint, page));
            assert_eq!(resume, Resume::Thread(client));
            assert_eq!(peek_as(&k, client, out, 64), [round | 0x80; 64], "round {round}");
        }
        // While the server waits, its process unmaps the page (another of
        // its threads could); the client's next page gets the frame freed,
        // and the server maps a fresh page at the same address.
        let old_frame = k.process_of(server).space().translate(page).unwrap().0;
        kernel_core::vm::unmap(&mut k, server, page, PAGE_SIZE).unwrap();
        let scratch = syscall(&mut k, client, Syscall::MemMap, &[0, PAGE_SIZE, RW]).unwrap();
        assert!(touch(&mut k, client, scratch, true));
        assert_eq!(
            k.process_of(client).space().translate(scratch).unwrap().0,
            old_frame,
            "the freed frame is the client's now"
        );
        assert_eq!(
            kernel_core::vm::map_private(&mut k, server, page, PAGE_SIZE, RW),
            Ok(page)
        );
        // The next call's bytes must land in the new page, never in the old
        // frame: the fast path has forgotten the server's buffer, and the
        // slow path makes the new page and copies into it.
        write_as(&mut k, client, out, &[0x55; 64]);
        k.frame_mut(client).set(regs::NUMBER, Syscall::Call as u64);
        message(k.frame_mut(client), to_server, out);
        assert!(
            !fast_path_takes(&k, client),
            "the fast path declines a forgotten buffer"
        );
        resume = enter(&mut k, Syscall::Call, |f| message(f, to_server, out));
        assert_eq!(resume, Resume::Thread(server));
        assert_eq!(peek_as(&k, server, page, 64), [0x55; 64]);
        assert_eq!(peek_as(&k, client, scratch, 64), [0; 64], "the old frame is untouched");
    });
}
