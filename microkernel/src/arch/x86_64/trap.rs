//! The Rust side of kernel entry: what the stubs call, turning each entry
//! into an event for the kernel (through the upcalls), and reporting what
//! the kernel cannot handle.

use super::idt::{
    IRQ_BASE_VECTOR, IRQ_VECTORS, RESCHEDULE_VECTOR, SHOOTDOWN_VECTOR, SPURIOUS_VECTOR, SYSCALL_INT_VECTOR,
    TIMER_VECTOR,
};
use super::upcalls;
use abi::fault::{PageFaultCode, has_error_code, vector_name};
use kernel_core::events::Event;
use kernel_core::trapframe::TrapFrame;

/// Called by every interrupt and exception stub.
pub extern "C" fn trap_from_any(frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: the stub passes the frame it has just built; nothing else
    // refers to it until the kernel is entered below.
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
        vector if is_device_line(vector) => {
            super::timer::acknowledge();
            Event::Interrupt {
                line: vector - IRQ_BASE_VECTOR,
            }
        }
        SYSCALL_INT_VECTOR => Event::Syscall,
        RESCHEDULE_VECTOR => {
            super::timer::acknowledge();
            Event::Reschedule
        }
        SHOOTDOWN_VECTOR => {
            // Served without the kernel lock (its holder waits for it).
            let left = super::tlb::serve_shootdown();
            super::timer::acknowledge();
            if !left {
                return frame;
            }
            // This CPU ran the address space being freed: its thread has
            // ended, so the kernel picks another.
            Event::Reschedule
        }
        SPURIOUS_VECTOR => return frame,
        _ => Event::Fault {
            vector,
            error_code: saved.error_code,
            address: if vector == 14 { fault_address() } else { 0 },
        },
    };
    // SAFETY: the kernel defines the upcall; the frame is saved in the
    // current thread's save area and no reference to it is kept here.
    unsafe { upcalls::kernel_event(event) }
}

/// Whether `vector` is a device interrupt line's.
/// A kick that ended the idle loop's halt (the reschedule vector's stub
/// calls it straight away, with nothing saved): what
/// [`kernel_mode_trap`] does for it, without the frame.
pub extern "C" fn idle_kick() -> *mut TrapFrame {
    super::timer::acknowledge();
    // SAFETY: the kernel defines the upcall; an interrupt in ring 0 arrives
    // only in the idle loop (the kernel runs with interrupts off), so the
    // kernel state is free.
    unsafe { upcalls::kernel_idle_kick() }
}

fn is_device_line(vector: u8) -> bool {
    (IRQ_BASE_VECTOR..IRQ_BASE_VECTOR + IRQ_VECTORS).contains(&vector)
}

/// A trap taken while the kernel (or the idle loop) was running.
fn kernel_mode_trap(saved: &mut TrapFrame, frame: *mut TrapFrame) -> *mut TrapFrame {
    match saved.vector as u8 {
        TIMER_VECTOR => {
            super::timer::acknowledge();
            // SAFETY: the kernel defines the upcall; an interrupt in ring 0
            // arrives only in the idle loop (the kernel runs with interrupts
            // off), so the kernel state is free.
            unsafe { upcalls::kernel_idle_event(Event::Timer) }
        }
        vector if is_device_line(vector) => {
            super::timer::acknowledge();
            let event = Event::Interrupt {
                line: vector - IRQ_BASE_VECTOR,
            };
            // SAFETY: as for the timer above.
            unsafe { upcalls::kernel_idle_event(event) }
        }
        // Its stub calls `idle_kick` itself in ring 0; this is the same.
        RESCHEDULE_VECTOR => idle_kick(),
        SHOOTDOWN_VECTOR => {
            // The idle loop runs no address space of a process.
            super::tlb::serve_shootdown();
            super::timer::acknowledge();
            frame
        }
        SPURIOUS_VECTOR => frame,
        // A fault inside a user copy: the copy routine's recovery point turns
        // it into EFAULT for the syscall.
        14 if super::usercopy::recover(saved) => frame,
        _ => fatal(saved),
    }
}

/// NMI, double fault and machine check: stop the machine. An NMI is how the
/// host asks a run that timed out what every thread is doing: the kernel
/// prints that first.
pub extern "C" fn trap_fatal(frame: *mut TrapFrame) -> ! {
    // SAFETY: the stub passes the frame it built on the IST stack.
    let saved = unsafe { &*frame };
    if saved.vector == 2 {
        // SAFETY: the kernel defines the upcall; it checks whether the
        // state is free before it reads it.
        unsafe { upcalls::kernel_dump() }
    }
    fatal(saved)
}

/// Reads CR2, the address of the last page fault.
fn fault_address() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// Prints everything known about an unexpected kernel exception, then ends
/// the run with `EXIT_KERNEL_FAULT`.
fn fatal(frame: &TrapFrame) -> ! {
    let vector = frame.vector as u8;
    super::log::force_unlock_log();
    kernel_core::error!("unexpected {} (vector {}) in kernel mode", vector_name(vector), vector);
    if has_error_code(vector) {
        kernel_core::error!("  error code {:#x}", frame.error_code);
    }
    kernel_core::error!(
        "  rip {:#018x}  cs {:#x}  rflags {:#x}",
        frame.rip,
        frame.cs,
        frame.rflags
    );
    kernel_core::error!("  rsp {:#018x}  ss {:#x}", frame.rsp, frame.ss);
    if vector == 14 {
        let code = PageFaultCode::decode(frame.error_code);
        kernel_core::error!(
            "  cr2 {:#018x} ({} access, {} mode, {})",
            fault_address(),
            code.access(),
            code.mode(),
            code.cause()
        );
    }
    kernel_core::error!(
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
