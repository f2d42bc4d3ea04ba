//! Raw syscalls, exactly as the ABI lays out the registers (`abi::regs`).
//!
//! `syscall` destroys RCX and R11 (return RIP and RFLAGS); every asm block
//! lists them as clobbered and lets the compiler assume memory is read and
//! written. [`int80_syscall3`] reaches the same dispatcher through `int 0x80`.

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

    /// Defines `syscallN`: the number in RAX, N arguments in the ABI's
    /// argument registers, and nothing else touched but RCX and R11.
    macro_rules! syscall {
        ($(#[$doc:meta])* $name:ident($($arg:ident => $reg:tt),*)) => {
            $(#[$doc])*
            /// # Safety
            /// The syscall must not break the program's memory safety:
            /// pointers it passes must be valid for what the syscall does.
            #[inline(always)]
            pub unsafe fn $name(number: u64, $($arg: u64),*) -> u64 {
                let ret;
                // SAFETY: the caller vouches for the arguments; the kernel
                // preserves every register but RAX, RCX and R11.
                unsafe {
                    asm!(
                        "syscall",
                        inlateout("rax") number => ret,
                        $(in($reg) $arg,)*
                        lateout("rcx") _,
                        lateout("r11") _,
                        options(nostack),
                    );
                }
                ret
            }
        };
    }

    syscall!(syscall0());
    syscall!(syscall1(a0 => "rdi"));
    syscall!(syscall2(a0 => "rdi", a1 => "rsi"));
    syscall!(syscall3(a0 => "rdi", a1 => "rsi", a2 => "rdx"));
    syscall!(syscall4(a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10"));
    syscall!(syscall5(a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10", a4 => "r8"));
    syscall!(syscall6(a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10", a4 => "r8", a5 => "r9"));

    /// `syscall4` for the syscalls with a second result (in RDX): returns
    /// RAX and RDX.
    ///
    /// # Safety
    /// As for [`syscall6`].
    #[inline(always)]
    pub unsafe fn syscall4_2(number: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> (u64, u64) {
        let (ret, second);
        // SAFETY: as for the other syscalls; RDX carries an argument in and
        // the second result out.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") number => ret,
                in("rdi") a0,
                in("rsi") a1,
                inlateout("rdx") a2 => second,
                in("r10") a3,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        (ret, second)
    }

    /// `syscall3` for the syscalls with a second result (in RDX).
    ///
    /// # Safety
    /// As for [`syscall6`].
    #[inline(always)]
    pub unsafe fn syscall3_2(number: u64, a0: u64, a1: u64, a2: u64) -> (u64, u64) {
        // SAFETY: the caller vouches for the arguments; R10 carries 0.
        unsafe { syscall4_2(number, a0, a1, a2, 0) }
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

    macro_rules! host {
        ($name:ident($($arg:ident),*)) => {
            /// # Safety
            /// Never returns on the host.
            pub unsafe fn $name(number: u64, $($arg: u64),*) -> u64 {
                $(let _ = $arg;)*
                panic!("{HOST}: syscall {number}")
            }
        };
    }

    host!(syscall0());
    host!(syscall1(a0));
    host!(syscall2(a0, a1));
    host!(syscall3(a0, a1, a2));
    host!(syscall4(a0, a1, a2, a3));
    host!(syscall5(a0, a1, a2, a3, a4));
    host!(syscall6(a0, a1, a2, a3, a4, a5));

    /// # Safety
    /// Never returns on the host.
    pub unsafe fn syscall3_2(number: u64, _: u64, _: u64, _: u64) -> (u64, u64) {
        panic!("{HOST}: syscall {number}")
    }

    /// # Safety
    /// Never returns on the host.
    pub unsafe fn syscall4_2(number: u64, _: u64, _: u64, _: u64, _: u64) -> (u64, u64) {
        panic!("{HOST}: syscall {number}")
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

pub use imp::{
    int80_syscall3, ipc, syscall0, syscall1, syscall2, syscall3, syscall3_2, syscall4, syscall4_2, syscall5, syscall6,
};
