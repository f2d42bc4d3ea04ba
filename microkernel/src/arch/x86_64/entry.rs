//! Kernel entry and exit: the `syscall` stub, the interrupt and exception
//! stubs, and the one return path they share.
//!
//! Every entry builds a [`TrapFrame`] and calls one Rust function (in
//! `trap`) that returns the frame to resume (the same thread's, or another's
//! after a switch). From ring 3 the frame is built in the current thread's
//! save area (`gs:frame_top`, which is TSS.RSP0: the frame field of the thread
//! in the kernel state), and the kernel then runs on this CPU's kernel
//! stack. The kernel never blocks inside a call, so nothing else needs
//! saving.
//!
//! The hazards each step guards against are commented where they are handled.

use super::percpu::offsets as cpu;
use core::arch::global_asm;
use kernel_core::machine::Published;
use kernel_core::trapframe::{IDLE_VECTOR, SYSCALL_VECTOR, TrapFrame, offsets as frame};

/// Size of a trap frame, for the stubs' offset arithmetic.
const FRAME_SIZE: usize = TrapFrame::SIZE;

// The `syscall` entry (LSTAR). On entry: RCX = user RIP, R11 = user RFLAGS,
// RSP = user RSP (untrusted), GS = user GS, IF/TF/DF/AC/NT/RF already cleared
// by SFMASK (cpu.rs), CS/SS = kernel.
//
// Three paths. The quick path answers `abi_version` and `get_ticks` from the
// published words and returns at once, saving nothing. IPC (whose message
// words live in callee-saved registers) stores the whole frame in place and
// calls one of two upcalls by the shape of the message. Every other syscall
// stores the same frame and calls the dispatcher (or, for `write`, its own
// upcall), which may switch threads.
global_asm!(
    r#"
    /* The whole frame, stored in place (RSP at the save area's top), but
       for what every thread's frame holds already or what nothing resumes.
       SS and CS: the user selectors, in every thread's frame from its start
       (`new_user`), and an interrupt from ring 3 writes the same. The error
       code: read only for the faults that push one. The RCX and R11 slots:
       a frame with the syscall vector leaves by sysretq, which loads RCX
       and R11 from RIP and RFLAGS. What is left in them is this thread's
       own. RCX is stored first: it then carries the user RSP. Only RCX
       changes. */
    .macro SAVE_SYSCALL_FRAME
    movq %rcx, {rip}(%rsp)
    movq %r11, {rflags}(%rsp)
    movq ${syscall_vector}, {vector}(%rsp)
    movq %rdi, {rdi}(%rsp)
    movq %rsi, {rsi}(%rsp)
    movq %rdx, {rdx}(%rsp)
    movq %r8, {r8}(%rsp)
    movq %r9, {r9}(%rsp)
    movq %r10, {r10}(%rsp)
    movq %rax, {rax}(%rsp)
    movq %rbx, {rbx}(%rsp)
    movq %rbp, {rbp}(%rsp)
    movq %r12, {r12}(%rsp)
    movq %r13, {r13}(%rsp)
    movq %r14, {r14}(%rsp)
    movq %r15, {r15}(%rsp)
    movq %gs:{user_rsp}, %rcx
    movq %rcx, {rsp}(%rsp)
    .endm

    .section .text.entry, "ax"
    .balign 64
    .global syscall_entry
syscall_entry:
    /* GS first: nothing else can be reached without the per-CPU block, and
       no instruction before this may touch memory through GS. */
    swapgs
    /* Never push on the user stack: it may be unmapped, or point into the
       kernel. Park it in the per-CPU scratch slot and switch to this
       thread's save area. */
    movq %rsp, %gs:{user_rsp}
    movq %gs:{frame_top}, %rsp
    /* IPC syscalls carry message words in callee-saved registers and may
       switch threads: they save the whole frame at once (3f). */
    cmpq ${first_ipc}, %rax
    jb 1f
    cmpq ${last_ipc}, %rax
    jbe 3f
7:
    /* The full path: the whole frame, stored in place as for IPC. */
    SAVE_SYSCALL_FRAME
    movq %gs:{kernel_stack_top}, %rsp
    /* `write` has a fast path of its own (a call to the console the kernel
       composes): its own upcall, so that no other syscall's pays for it. */
    cmpq ${write}, %rax
    je 6f
    callq {dispatch}
    jmp return_to_frame
6:
    callq {write_upcall}
    jmp return_to_frame
1:
    /* The quick path, for the syscalls below `send`: `abi_version` and
       `get_ticks` are answered from the words the kernel publishes
       (`Published`), with no frame saved and no kernel state touched, unless
       tracing is on (then every syscall goes to the dispatcher, which
       records it). Only RAX changes. The others take the full path.
       sysretq to a non-canonical RCX faults in ring 0 on the user stack
       (CVE-2012-0217). A syscall can only come from the user half, whose
       last page is never mapped, so bit 47 of the return address is clear;
       if it is not, leave through the full path and iretq. `write` leaves
       for the full path first: it is the syscall of this range a server
       sees most often. */
    cmpq ${write}, %rax
    je 7b
    btq $47, %rcx
    jc 7b
    cmpb $0, {published}+{tracing}(%rip)
    jne 7b
    testq %rax, %rax
    jz 10f
    cmpq ${get_ticks}, %rax
    jne 7b
    movq {published}+{ticks}(%rip), %rax
    jmp 11f
10:
    movl {published}+{abi_version}(%rip), %eax
11:
    lock incq {published}+{quick_count}(%rip)
    movq %gs:{user_rsp}, %rsp
    /* Last: after this instruction nothing may touch per-CPU data. */
    swapgs
    sysretq
3:
    /* IPC: the whole frame, stored in place. */
    SAVE_SYSCALL_FRAME
    /* The IPC fast path, or the dispatcher: the frame to resume. A message
       in registers only (MsgInfo in RSI: nothing above the word count, at
       most 6 words) and one with bytes (or flags, or a timeout) go to two
       upcalls, each compiled with its own fast path, so that the byte
       handling costs a register-only message nothing but this test. */
    movq %gs:{kernel_stack_top}, %rsp
    shrq $32, %rsi
    cmpq ${max_words}, %rsi
    ja 5f
    callq {ipc}
    jmp return_to_frame
5:
    callq {ipc_bytes}
    jmp return_to_frame
    "#,
    user_rsp = const cpu::USER_RSP,
    frame_top = const cpu::FRAME_TOP,
    kernel_stack_top = const cpu::KERNEL_STACK_TOP,
    rip = const frame::RIP as isize - FRAME_SIZE as isize,
    rflags = const frame::RFLAGS as isize - FRAME_SIZE as isize,
    rdi = const frame::RDI as isize - FRAME_SIZE as isize,
    rsi = const frame::RSI as isize - FRAME_SIZE as isize,
    rdx = const frame::RDX as isize - FRAME_SIZE as isize,
    r8 = const frame::R8 as isize - FRAME_SIZE as isize,
    r9 = const frame::R9 as isize - FRAME_SIZE as isize,
    r10 = const frame::R10 as isize - FRAME_SIZE as isize,
    rax = const frame::RAX as isize - FRAME_SIZE as isize,
    rbx = const frame::RBX as isize - FRAME_SIZE as isize,
    rbp = const frame::RBP as isize - FRAME_SIZE as isize,
    r12 = const frame::R12 as isize - FRAME_SIZE as isize,
    r13 = const frame::R13 as isize - FRAME_SIZE as isize,
    r14 = const frame::R14 as isize - FRAME_SIZE as isize,
    r15 = const frame::R15 as isize - FRAME_SIZE as isize,
    vector = const frame::VECTOR as isize - FRAME_SIZE as isize,
    rsp = const frame::RSP as isize - FRAME_SIZE as isize,
    first_ipc = const abi::Syscall::Send as u64,
    last_ipc = const abi::Syscall::ReplyRecv as u64,
    syscall_vector = const SYSCALL_VECTOR,
    published = sym super::machine::PUBLISHED,
    tracing = const core::mem::offset_of!(Published, tracing),
    ticks = const core::mem::offset_of!(Published, ticks),
    abi_version = const core::mem::offset_of!(Published, abi_version),
    quick_count = const core::mem::offset_of!(Published, quick_syscalls),
    get_ticks = const abi::Syscall::GetTicks as u64,
    ipc = sym super::upcalls::kernel_syscall_ipc,
    ipc_bytes = sym super::upcalls::kernel_syscall_ipc_bytes,
    max_words = const abi::message::MAX_WORDS,
    dispatch = sym super::upcalls::kernel_syscall,
    write_upcall = sym super::upcalls::kernel_syscall_write,
    write = const abi::Syscall::Write as u64,
    options(att_syntax)
);

// Interrupt and exception stubs: push a dummy error code where the CPU pushes
// none, then the vector, and share `trap_common`.
global_asm!(
    r#"
    .section .text.entry, "ax"
    .macro TRAP_NO_ERROR vector
    .balign 16
    .global trap_stub_\vector
trap_stub_\vector:
    pushq $0
    pushq $\vector
    jmp trap_common
    .endm

    .macro TRAP_ERROR vector
    .balign 16
    .global trap_stub_\vector
trap_stub_\vector:
    pushq $\vector
    jmp trap_common
    .endm

    .irp vector, 0,1,3,4,5,6,7,9,15,16,19,20,22,23,24,25,26,27,28,31,32,128,241,255
    TRAP_NO_ERROR \vector
    .endr

    /* A kick (the reschedule vector). From ring 3 it is an interrupt like
       the others. In ring 0 the kernel takes interrupts only in the idle
       loop (idle_halt), whose state is worth nothing: the stub saves none
       and picks at once, on a fresh kernel stack. DF and AC need no cld or
       clac here (trap_common's reason for them): the interrupted code is
       the kernel's own idle loop, which runs with both clear. Stack: RIP,
       CS, ... */
    .balign 16
    .global trap_stub_240
trap_stub_240:
    testb $3, 8(%rsp)
    jnz 1f
    movq %gs:{kernel_stack_top}, %rsp
    callq {idle_kick}
    jmp return_to_frame
1:
    pushq $0
    pushq $240
    jmp trap_common
    /* Device interrupt lines 0 to 23: vectors 48 to 71. */
    .irp vector, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71
    TRAP_NO_ERROR \vector
    .endr
    .irp vector, 10,11,12,13,14,17,21,29,30
    TRAP_ERROR \vector
    .endr

    /* NMI, #DF and #MC run on IST stacks and can arrive anywhere, even in
       the few instructions of an entry or exit where GS holds the user's
       base. Their stubs never touch GS: they report and stop the machine. */
    .macro TRAP_FATAL vector, error
    .balign 16
    .global trap_stub_\vector
trap_stub_\vector:
    .if \error == 0
    pushq $0
    .endif
    pushq $\vector
    jmp trap_fatal
    .endm
    TRAP_FATAL 2, 0
    TRAP_FATAL 8, 1
    TRAP_FATAL 18, 0

    .section .rodata.trap_stub_table, "a"
    .balign 8
    .global trap_stub_table
trap_stub_table:
    .irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_stub_\vector
    .endr
    .global irq_stub_table
irq_stub_table:
    .irp vector, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71
    .quad trap_stub_\vector
    .endr

    .section .text.entry, "ax"
    .balign 16
trap_fatal:
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %rax
    pushq %rcx
    pushq %r11
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    callq {fatal}
    ud2

    .balign 16
trap_common:
    /* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. swapgs only when
       coming from ring 3 (CS RPL 3); from ring 0 GS is already the kernel's. */
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:
    /* Both paths: no speculative execution with the wrong GS base past the
       branch above (the swapgs variant of Spectre v1). */
    lfence
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %rax
    pushq %rcx
    pushq %r11
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    /* Interrupt gates clear IF and TF but not DF or AC: the ABI of the Rust
       code wants DF clear, and AC set would switch SMAP off for the kernel. */
    cld
    cmpq $0, %gs:{smap_enabled}
    je 2f
    clac
2:
    movq %rsp, %rdi
    /* From ring 3 the frame sits in the thread's save area: run the kernel
       on this CPU's stack. From ring 0 stay on the current kernel stack. */
    testb $3, {frame_cs}(%rsp)
    jz 3f
    movq %gs:{kernel_stack_top}, %rsp
3:
    callq {dispatch}
    jmp return_to_frame

    /* Resumes the frame in RAX. */
    .global return_to_frame
return_to_frame:
    movq %rax, %rsp
    /* To ring 3 only at a user-half RIP. sysretq with a non-canonical RCX
       raises #GP in ring 0 on the user's stack (CVE-2012-0217), and an
       iretq that faults has no frame to fault into: a ring-3 frame with any
       other RIP is never resumed, its process is ended instead. No frame
       holds one today (entry points are checked); this makes it a fact. */
    cmpq ${syscall_vector}, {frame_vector}(%rsp)
    jne 7f
    /* Saved by the syscall entry, the only code that writes this vector:
       a ring-3 frame. RCX gets its RIP for sysretq here, compared (unsigned)
       with the end of the user half. */
    movq {frame_rip}(%rsp), %rcx
    cmpq user_half_end(%rip), %rcx
    jae bad_return
    /* Loads, not pops: RSP stays at the frame, and the RCX and R11 slots
       are skipped (about to be loaded with RIP and RFLAGS). A frame entered
       by syscall has the CS and SS that sysretq recreates exactly. */
    movq {frame_r15}(%rsp), %r15
    movq {frame_r14}(%rsp), %r14
    movq {frame_r13}(%rsp), %r13
    movq {frame_r12}(%rsp), %r12
    movq {frame_rbp}(%rsp), %rbp
    movq {frame_rbx}(%rsp), %rbx
    movq {frame_rax}(%rsp), %rax
    movq {frame_r10}(%rsp), %r10
    movq {frame_r9}(%rsp), %r9
    movq {frame_r8}(%rsp), %r8
    movq {frame_rdx}(%rsp), %rdx
    movq {frame_rsi}(%rsp), %rsi
    movq {frame_rdi}(%rsp), %rdi
    movq {frame_rflags}(%rsp), %r11
    movq {frame_rsp}(%rsp), %rsp
    /* Last: after this instruction nothing may touch per-CPU data. */
    swapgs
    sysretq
7:
    /* The idle frame: nothing to load (see idle_halt). */
    cmpq ${idle_vector}, {frame_vector}(%rsp)
    je idle_halt
    testb $3, {frame_cs}(%rsp)
    jz 5f
    movq {frame_rip}(%rsp), %rcx
    shrq $47, %rcx
    jnz bad_return
5:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r11
    popq %rcx
    popq %rax
    popq %r10
    popq %r9
    popq %r8
    popq %rdx
    popq %rsi
    popq %rdi
    addq $16, %rsp
    /* Returning to ring 3: restore the user's GS base. */
    testb $3, 8(%rsp)
    jz 6f
    swapgs
6:
    iretq

    /* This CPU's idle loop: halt on its kernel stack with interrupts on
       until an interrupt. Nothing is kept: the kernel takes interrupts
       nowhere else, and one that ends idling picks what runs next and
       resumes that instead (one handled without a pick, such as a
       shootdown, returns to the jmp). */
    .global idle_halt
idle_halt:
    movq %gs:{kernel_stack_top}, %rsp
    sti
    hlt
    jmp idle_halt

    /* A ring-3 frame that must not be resumed (see return_to_frame): the
       kernel ends its process and gives back the frame to resume instead. */
bad_return:
    movq %gs:{kernel_stack_top}, %rsp
    callq {bad_frame}
    jmp return_to_frame

    .section .rodata.user_half_end, "a"
    .balign 8
    /* The first address above the user half (bit 47 and up clear below). */
user_half_end:
    .quad 0x800000000000
    "#,
    smap_enabled = const cpu::SMAP_ENABLED,
    kernel_stack_top = const cpu::KERNEL_STACK_TOP,
    frame_cs = const frame::CS,
    frame_vector = const frame::VECTOR,
    frame_rip = const frame::RIP,
    frame_r15 = const frame::R15,
    frame_r14 = const frame::R14,
    frame_r13 = const frame::R13,
    frame_r12 = const frame::R12,
    frame_rbp = const frame::RBP,
    frame_rbx = const frame::RBX,
    frame_rax = const frame::RAX,
    frame_r10 = const frame::R10,
    frame_r9 = const frame::R9,
    frame_r8 = const frame::R8,
    frame_rdx = const frame::RDX,
    frame_rsi = const frame::RSI,
    frame_rdi = const frame::RDI,
    frame_rflags = const frame::RFLAGS,
    frame_rsp = const frame::RSP,
    syscall_vector = const SYSCALL_VECTOR,
    idle_vector = const IDLE_VECTOR,
    dispatch = sym super::trap::trap_from_any,
    fatal = sym super::trap::trap_fatal,
    bad_frame = sym super::upcalls::kernel_bad_frame,
    idle_kick = sym super::trap::idle_kick,
    options(att_syntax)
);

unsafe extern "C" {
    /// The `syscall` entry point, for LSTAR.
    pub fn syscall_entry();
}

/// Leaves the kernel by resuming `frame`.
///
/// # Safety
/// `frame` must be a complete frame that stays valid until it is popped: a
/// thread's save area or the idle frame.
pub unsafe fn resume(frame: *mut TrapFrame) -> ! {
    // SAFETY: the caller guarantees the frame; `return_to_frame` takes it in
    // RAX and never returns.
    unsafe { core::arch::asm!("jmp return_to_frame", in("rax") frame, options(noreturn)) }
}
