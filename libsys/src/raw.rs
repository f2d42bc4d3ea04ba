//! Raw syscalls, exactly as the ABI lays out the registers (`abi::regs`).
//!
//! `syscall` destroys RCX and R11 (return RIP and RFLAGS); every asm block
//! lists them as clobbered and lets the compiler assume memory is read and
//! written. [`int80`] reaches the same dispatcher through `int 0x80`.

use abi::message::MAX_WORDS;

/// The registers of an IPC syscall, in and out (see `abi::regs::ipc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcRegs {
    /// RDI: handle in, badge out.
    pub handle: u64,
    /// RSI: MsgInfo in and out.
    pub info: u64,
    /// RDX: buffer address (preserved).
    pub buffer: u64,
    /// R10: buffer capacity for what is received (preserved).
    pub capacity: u64,
    /// R8, R9, R12, R13, R14, R15.
    pub words: [u64; MAX_WORDS],
}

#[cfg(target_os = "none")]
mod imp {
    use super::IpcRegs;
    use core::arch::asm;

    /// # Safety
    /// The syscall must not break the program's memory safety: pointers it
    /// passes must be valid for what the syscall does with them.
    #[inline(always)]
    pub unsafe fn syscall6(number: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> u64 {
        let ret;
        // SAFETY: the caller vouches for the arguments; the kernel preserves
        // every register but RAX, RCX and R11.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") number => ret,
                in("rdi") a0,
                in("rsi") a1,
                in("rdx") a2,
                in("r10") a3,
                in("r8") a4,
                in("r9") a5,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As for [`syscall6`]; `regs.buffer` must be valid for `regs.capacity`
    /// bytes of writes and for the length in `regs.info` of reads.
    #[inline(always)]
    pub unsafe fn ipc(number: u64, regs: &mut IpcRegs) -> u64 {
        let ret;
        let w = &mut regs.words;
        // SAFETY: as above; the IPC registers are inputs and outputs.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") number => ret,
                inlateout("rdi") regs.handle,
                inlateout("rsi") regs.info,
                in("rdx") regs.buffer,
                in("r10") regs.capacity,
                inlateout("r8") w[0],
                inlateout("r9") w[1],
                inlateout("r12") w[2],
                inlateout("r13") w[3],
                inlateout("r14") w[4],
                inlateout("r15") w[5],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As for [`syscall6`].
    #[inline(always)]
    pub unsafe fn int80_syscall3(number: u64, a0: u64, a1: u64, a2: u64) -> u64 {
        let ret;
        // SAFETY: `int 0x80` reaches the same dispatcher; with iretq on the
        // way back nothing but RAX changes.
        unsafe {
            asm!("int 0x80", inlateout("rax") number => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2, options(nostack));
        }
        ret
    }
}

#[cfg(not(target_os = "none"))]
mod imp {
    use super::IpcRegs;

    const HOST: &str = "libsys syscalls run only under the microkernel (target x86_64-unknown-none)";

    /// # Safety
    /// Never returns on the host.
    pub unsafe fn syscall6(_: u64, _: u64, _: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
        panic!("{HOST}")
    }

    /// # Safety
    /// Never returns on the host.
    pub unsafe fn ipc(_: u64, _: &mut IpcRegs) -> u64 {
        panic!("{HOST}")
    }

    /// # Safety
    /// Never returns on the host.
    pub unsafe fn int80_syscall3(_: u64, _: u64, _: u64, _: u64) -> u64 {
        panic!("{HOST}")
    }
}

pub use imp::{int80_syscall3, ipc, syscall6};

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall0(number: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, 0, 0, 0, 0, 0, 0) }
}

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall1(number: u64, a0: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, a0, 0, 0, 0, 0, 0) }
}

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall2(number: u64, a0: u64, a1: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, a0, a1, 0, 0, 0, 0) }
}

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall3(number: u64, a0: u64, a1: u64, a2: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, a0, a1, a2, 0, 0, 0) }
}

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall4(number: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, a0, a1, a2, a3, 0, 0) }
}

/// # Safety
/// See [`syscall6`].
#[inline(always)]
pub unsafe fn syscall5(number: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(number, a0, a1, a2, a3, a4, 0) }
}
