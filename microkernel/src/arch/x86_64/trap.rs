//! The Rust side of kernel entry: turn a frame into an event for the kernel,
//! and report what the kernel cannot handle.

use super::cpu;
use super::frame::TrapFrame;
use super::idt::{SPURIOUS_VECTOR, SYSCALL_INT_VECTOR, TIMER_VECTOR};
use abi::fault::{PageFaultCode, has_error_code, vector_name};

/// Why the kernel was entered from ring 3.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// `syscall` or `int 0x80`; the number and arguments are in the frame.
    Syscall,
    /// The timer fired.
    Timer,
    /// The thread faulted: it will be killed.
    Fault { vector: u8, error_code: u64, address: u64 },
}

/// What the quick path of the `syscall` stub gets back (in RAX and RDX).
#[repr(C)]
pub struct FastResult {
    /// The result, or the syscall number again when declined.
    value: u64,
    /// Non-zero: answered.
    answered: u64,
}

/// Called by the `syscall` stub before it saves the whole frame: answers the
/// syscalls that read no kernel state (see `crate::syscalls::fast`).
pub extern "C" fn syscall_fast(number: u64) -> FastResult {
    match crate::syscalls::fast(number) {
        Some(value) => FastResult { value, answered: 1 },
        // The stub takes RAX back as the number: no need to set it.
        None => FastResult {
            value: number,
            answered: 0,
        },
    }
}

/// Called by the `syscall` stub for IPC syscalls, with the whole frame saved:
/// the IPC fast path. Returns the frame to resume, or null to decline (the
/// stub then calls the dispatcher).
pub extern "C" fn syscall_ipc_fast(frame: *mut TrapFrame) -> *mut TrapFrame {
    crate::kernel::ipc_fast(frame)
}

/// Called by the `syscall` stub with the frame it built.
pub extern "C" fn syscall_from_user(frame: *mut TrapFrame) -> *mut TrapFrame {
    crate::kernel::syscall(frame)
}

/// Called by every interrupt and exception stub.
pub extern "C" fn trap_from_any(frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: the stub passes the frame it has just built; nothing else
    // refers to it while the kernel runs.
    let saved = unsafe { &mut *frame };
    let vector = saved.vector as u8;
    if !saved.is_from_user() {
        return kernel_mode_trap(saved, frame);
    }
    let event = match vector {
        TIMER_VECTOR => {
            super::timer::acknowledge();
            Event::Timer
        }
        SYSCALL_INT_VECTOR => Event::Syscall,
        SPURIOUS_VECTOR => return frame,
        _ => Event::Fault {
            vector,
            error_code: saved.error_code,
            address: if vector == 14 { cpu::fault_address() } else { 0 },
        },
    };
    crate::kernel::enter(event, frame)
}

/// A trap taken while the kernel (or the idle loop) was running.
fn kernel_mode_trap(saved: &mut TrapFrame, frame: *mut TrapFrame) -> *mut TrapFrame {
    match saved.vector as u8 {
        TIMER_VECTOR => {
            super::timer::acknowledge();
            crate::kernel::idle_tick(frame)
        }
        SPURIOUS_VECTOR => frame,
        // A fault inside a user copy: the copy routine's recovery point turns
        // it into EFAULT for the syscall.
        14 if super::percpu::in_user_copy() && super::usercopy::recover(saved) => frame,
        _ => fatal(saved),
    }
}

/// NMI, double fault and machine check: stop the machine.
pub extern "C" fn trap_fatal(frame: *mut TrapFrame) -> ! {
    // SAFETY: the stub passes the frame it built on the IST stack.
    fatal(unsafe { &*frame })
}

/// Prints everything known about an unexpected kernel exception, then ends
/// the run with `EXIT_KERNEL_FAULT`.
fn fatal(frame: &TrapFrame) -> ! {
    let vector = frame.vector as u8;
    crate::log::force_unlock();
    crate::error!("unexpected {} (vector {}) in kernel mode", vector_name(vector), vector);
    if has_error_code(vector) {
        crate::error!("  error code {:#x}", frame.error_code);
    }
    crate::error!(
        "  rip {:#018x}  cs {:#x}  rflags {:#x}",
        frame.rip,
        frame.cs,
        frame.rflags
    );
    crate::error!("  rsp {:#018x}  ss {:#x}", frame.rsp, frame.ss);
    if vector == 14 {
        let code = PageFaultCode::decode(frame.error_code);
        crate::error!(
            "  cr2 {:#018x} ({} access, {} mode, {})",
            cpu::fault_address(),
            code.access(),
            code.mode(),
            code.cause()
        );
    }
    crate::error!(
        "  rax {:#x} rbx {:#x} rcx {:#x} rdx {:#x} rsi {:#x} rdi {:#x} rbp {:#x}",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi,
        frame.rbp
    );
    super::qemu::exit(abi::machine::EXIT_KERNEL_FAULT)
}
