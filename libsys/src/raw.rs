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

/// The host stand-in of the raw layer: without a kernel to reach, a raw
/// syscall panics, unless a test installed a hook ([`host::set_hook`]),
/// which sees the call as the ABI lays it out in registers and answers it.
/// `libsys/tests/table.rs` calls every wrapper through it and checks the
/// number and registers against `abi::syscall::SYSCALLS`.
#[cfg(not(target_os = "none"))]
pub mod host {
    use super::IpcRegs;
    use abi::regs::{self, Reg};
    use spin::Mutex;

    /// A raw syscall, as the registers would carry it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct HostCall {
        /// The syscall number (RAX).
        pub number: u64,
        /// Whether it went through `int 0x80` (not `syscall`).
        pub int80: bool,
        /// Whether it was `raw::ipc` (all the IPC registers), not
        /// `raw::syscallN`.
        pub ipc: bool,
        regs: [(Reg, u64); 10],
        count: usize,
    }

    impl HostCall {
        fn new(number: u64, int80: bool, ipc: bool) -> HostCall {
            HostCall {
                number,
                int80,
                ipc,
                regs: [(Reg::Rax, 0); 10],
                count: 0,
            }
        }

        fn set(&mut self, reg: Reg, value: u64) {
            self.regs[self.count] = (reg, value);
            self.count += 1;
        }

        /// The registers the call sets, in the order of `abi::regs`: the
        /// first N argument registers of `syscallN`, or every IPC register.
        pub fn regs(&self) -> &[(Reg, u64)] {
            &self.regs[..self.count]
        }

        /// The value of `reg`, if the call sets it.
        pub fn get(&self, reg: Reg) -> Option<u64> {
            self.regs().iter().find(|(r, _)| *r == reg).map(|(_, value)| *value)
        }

        /// Sets what `reg` holds when the call returns (for `raw::ipc`,
        /// whose IPC registers are outputs too).
        pub fn set_result(&mut self, reg: Reg, value: u64) {
            if let Some(slot) = self.regs[..self.count].iter_mut().find(|(r, _)| *r == reg) {
                slot.1 = value;
            }
        }
    }

    /// Answers a raw syscall: returns RAX, and may change the output
    /// registers with [`HostCall::set_result`].
    pub type Hook = fn(&mut HostCall) -> u64;

    static HOOK: Mutex<Option<Hook>> = Mutex::new(None);

    /// Makes every raw syscall on the host go to `hook` (`None`: panic
    /// again). For tests; bare-metal programs have no such thing.
    pub fn set_hook(hook: Option<Hook>) {
        *HOOK.lock() = hook;
    }

    fn call(mut call: HostCall) -> (u64, HostCall) {
        let hook = *HOOK.lock();
        match hook {
            Some(hook) => (hook(&mut call), call),
            None => panic!(
                "libsys syscalls run only under the microkernel (target x86_64-unknown-none): syscall {}",
                call.number
            ),
        }
    }

    macro_rules! host {
        ($name:ident($($arg:ident),*)) => {
            /// # Safety
            /// On the host it reaches only the test hook (or panics).
            pub unsafe fn $name(number: u64, $($arg: u64),*) -> u64 {
                let mut host = HostCall::new(number, false, false);
                let args: &[u64] = &[$($arg),*];
                for (reg, value) in regs::ARGS.iter().zip(args) {
                    host.set(*reg, *value);
                }
                call(host).0
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
    /// On the host it reaches only the test hook (or panics); the hook
    /// sets the second result in `abi::regs::SECOND_RESULT`.
    pub unsafe fn syscall3_2(number: u64, a0: u64, a1: u64, a2: u64) -> (u64, u64) {
        second_result(number, &[a0, a1, a2])
    }

    /// # Safety
    /// On the host it reaches only the test hook (or panics), as
    /// [`syscall3_2`].
    pub unsafe fn syscall4_2(number: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> (u64, u64) {
        second_result(number, &[a0, a1, a2, a3])
    }

    fn second_result(number: u64, args: &[u64]) -> (u64, u64) {
        let mut host = HostCall::new(number, false, false);
        for (reg, value) in regs::ARGS.iter().zip(args) {
            host.set(*reg, *value);
        }
        // The second result's register carries an argument in, so the hook
        // finds it among the call's registers and may replace it.
        if host.get(regs::SECOND_RESULT).is_none() {
            host.set(regs::SECOND_RESULT, 0);
        }
        let (rax, host) = call(host);
        (rax, host.get(regs::SECOND_RESULT).unwrap_or(0))
    }

    /// # Safety
    /// On the host it reaches only the test hook (or panics).
    pub unsafe fn ipc(number: u64, ipc_regs: &mut IpcRegs) -> u64 {
        let mut host = HostCall::new(number, false, true);
        host.set(regs::ipc::HANDLE, ipc_regs.handle);
        host.set(regs::ipc::INFO, ipc_regs.info);
        host.set(regs::ipc::BUFFER, ipc_regs.buffer);
        host.set(regs::ipc::CAPACITY, ipc_regs.capacity);
        for (reg, word) in regs::ipc::WORDS.iter().zip(ipc_regs.words) {
            host.set(*reg, word);
        }
        let (rax, host) = call(host);
        // What comes back: the badge where the handle went, the MsgInfo and
        // the words (the buffer and capacity are inputs only).
        ipc_regs.handle = host.get(regs::ipc::BADGE).unwrap_or(0);
        ipc_regs.info = host.get(regs::ipc::INFO).unwrap_or(0);
        for (index, reg) in regs::ipc::WORDS.iter().enumerate() {
            ipc_regs.words[index] = host.get(*reg).unwrap_or(0);
        }
        rax
    }

    /// # Safety
    /// On the host it reaches only the test hook (or panics).
    pub unsafe fn int80_syscall3(number: u64, a0: u64, a1: u64, a2: u64) -> u64 {
        let mut host = HostCall::new(number, true, false);
        for (reg, value) in regs::ARGS.iter().zip([a0, a1, a2]) {
            host.set(*reg, value);
        }
        call(host).0
    }
}

#[cfg(not(target_os = "none"))]
use host as imp;

pub use imp::{
    int80_syscall3, ipc, syscall0, syscall1, syscall2, syscall3, syscall3_2, syscall4, syscall4_2, syscall5, syscall6,
};
