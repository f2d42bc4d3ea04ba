//! The trap frame: a thread's saved registers, one layout for every entry.
//!
//! The layout belongs to the ABI's register convention (x86_64, like
//! `abi::regs`); the architecture's entry stubs build it at the offsets in
//! [`offsets`], and every thread keeps its own as the first field of
//! `crate::kernel::Thread`.
//!
//! `syscall`, `int 0x80`, exceptions and interrupts all build this frame, so
//! the dispatcher, the fault reporter and the tracer read registers the same
//! way whatever the entry. The part from `rip` up is what the CPU pushes on an
//! interrupt; the `syscall` stub pushes the same words itself. `vector`
//! records how the frame was entered: [`SYSCALL_VECTOR`] means by `syscall`,
//! and only such a frame may leave by `sysretq`.

use abi::regs::Reg;
use core::mem::{offset_of, size_of};

/// Marks a frame built by the `syscall` entry stub.
pub const SYSCALL_VECTOR: u64 = 0x100;
/// Marks a frame the kernel built itself (a new thread): leaves by `iretq`.
pub const KERNEL_BUILT_VECTOR: u64 = 0x101;
/// Marks a CPU's idle frame: the exit path halts on that CPU's kernel stack
/// instead of loading it.
pub const IDLE_VECTOR: u64 = 0x102;

/// Saved registers, lowest address first (the order the stubs push in
/// reverse).
///
/// The order serves the `syscall` entry: from `rdi` up to `ss` is what it
/// saves for every syscall (the registers a Rust call may clobber, and the
/// return state); `rax`, `rcx` and `r11` (number, return RIP and RFLAGS,
/// all recoverable) and the callee-saved registers below them are stored
/// only when the syscall needs the whole frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrapFrame {
    /// IPC message word 5. Callee-saved, like the five registers after it:
    /// not stored on the `syscall` quick path.
    pub r15: u64,
    /// IPC message word 4.
    pub r14: u64,
    /// IPC message word 3.
    pub r13: u64,
    /// IPC message word 2.
    pub r12: u64,
    /// No role in the syscall ABI (inline assembly cannot name it as an
    /// operand).
    pub rbp: u64,
    /// No role in the syscall ABI (inline assembly cannot name it as an
    /// operand).
    pub rbx: u64,
    /// After `syscall`, the user's RFLAGS (a copy of `rflags`). A frame
    /// leaving by `sysretq` reloads R11 from `rflags`, not from here.
    pub r11: u64,
    /// After `syscall`, the user's return address (a copy of `rip`). A frame
    /// leaving by `sysretq` reloads RCX from `rip`, not from here.
    pub rcx: u64,
    /// The syscall number on entry, the result (or encoded error) on return.
    pub rax: u64,
    /// Syscall argument 3 (taking RCX's place, which `syscall` overwrites);
    /// for IPC, the receive buffer's capacity in bytes.
    pub r10: u64,
    /// Syscall argument 5; IPC message word 1.
    pub r9: u64,
    /// Syscall argument 4; IPC message word 0.
    pub r8: u64,
    /// Syscall argument 2; for IPC, the byte buffer's address.
    pub rdx: u64,
    /// Syscall argument 1; for IPC, the message info (`abi::MsgInfo`).
    pub rsi: u64,
    /// Syscall argument 0; for IPC, the endpoint handle in and the sender's
    /// badge out.
    pub rdi: u64,
    /// Exception vector, or [`SYSCALL_VECTOR`] / [`KERNEL_BUILT_VECTOR`].
    pub vector: u64,
    /// The CPU's error code for exceptions that push one, else 0.
    pub error_code: u64,
    /// Where the thread resumes: after a trap (`syscall`, `int n`, `int3`)
    /// or an interrupt, the next instruction; after a fault (`#PF`, `#GP`,
    /// `#UD`, ...), the faulting one.
    pub rip: u64,
    /// Code segment selector; its low two bits are the ring the frame was
    /// saved in ([`TrapFrame::is_from_user`]).
    pub cs: u64,
    /// RFLAGS of the interrupted code (a new user thread: [`USER_RFLAGS`]).
    pub rflags: u64,
    /// Stack pointer of the interrupted code. For a ring-3 frame it is the
    /// user's value: the kernel never pushes on that stack.
    pub rsp: u64,
    /// Stack segment selector of the interrupted code.
    pub ss: u64,
}

const _: () = assert!(TrapFrame::SIZE.is_multiple_of(16));

/// Byte offsets from the start of a [`TrapFrame`], for the assembly stubs.
///
/// The `syscall` quick path stores RDI to R10, RIP and RFLAGS by offset
/// before the rest of the frame exists; the return path reads VECTOR to
/// choose between `sysretq` and `iretq`, then RIP, RFLAGS and RSP for
/// `sysretq`; the interrupt entry reads CS to tell ring 3 from ring 0.
pub mod offsets {
    use super::*;
    /// Offset of [`TrapFrame::r15`].
    pub const R15: usize = offset_of!(TrapFrame, r15);
    /// Offset of [`TrapFrame::r14`].
    pub const R14: usize = offset_of!(TrapFrame, r14);
    /// Offset of [`TrapFrame::r13`].
    pub const R13: usize = offset_of!(TrapFrame, r13);
    /// Offset of [`TrapFrame::r12`].
    pub const R12: usize = offset_of!(TrapFrame, r12);
    /// Offset of [`TrapFrame::rbp`].
    pub const RBP: usize = offset_of!(TrapFrame, rbp);
    /// Offset of [`TrapFrame::rbx`].
    pub const RBX: usize = offset_of!(TrapFrame, rbx);
    /// Offset of [`TrapFrame::rax`].
    pub const RAX: usize = offset_of!(TrapFrame, rax);
    /// Offset of [`TrapFrame::r10`].
    pub const R10: usize = offset_of!(TrapFrame, r10);
    /// Offset of [`TrapFrame::r9`].
    pub const R9: usize = offset_of!(TrapFrame, r9);
    /// Offset of [`TrapFrame::r8`].
    pub const R8: usize = offset_of!(TrapFrame, r8);
    /// Offset of [`TrapFrame::rdx`].
    pub const RDX: usize = offset_of!(TrapFrame, rdx);
    /// Offset of [`TrapFrame::rsi`].
    pub const RSI: usize = offset_of!(TrapFrame, rsi);
    /// Offset of [`TrapFrame::rdi`].
    pub const RDI: usize = offset_of!(TrapFrame, rdi);
    /// Offset of [`TrapFrame::vector`].
    pub const VECTOR: usize = offset_of!(TrapFrame, vector);
    /// Offset of [`TrapFrame::rip`].
    pub const RIP: usize = offset_of!(TrapFrame, rip);
    /// Offset of [`TrapFrame::cs`].
    pub const CS: usize = offset_of!(TrapFrame, cs);
    /// Offset of [`TrapFrame::rflags`].
    pub const RFLAGS: usize = offset_of!(TrapFrame, rflags);
    /// Offset of [`TrapFrame::rsp`].
    pub const RSP: usize = offset_of!(TrapFrame, rsp);
}

impl TrapFrame {
    /// Size of a frame in bytes; a multiple of 16 so that the end of a frame
    /// is a valid stack pointer for the CPU to push an interrupt frame below.
    pub const SIZE: usize = size_of::<TrapFrame>();

    /// A frame of zeros (a thread slot that never ran).
    pub const ZERO: TrapFrame = TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        rbp: 0,
        rbx: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rax: 0,
        rcx: 0,
        rdx: 0,
        rsi: 0,
        rdi: 0,
        vector: 0,
        error_code: 0,
        rip: 0,
        cs: 0,
        rflags: 0,
        rsp: 0,
        ss: 0,
    };

    /// Reads a general-purpose register.
    #[inline(always)]
    pub fn get(&self, reg: Reg) -> u64 {
        match reg {
            Reg::Rax => self.rax,
            Reg::Rbx => self.rbx,
            Reg::Rcx => self.rcx,
            Reg::Rdx => self.rdx,
            Reg::Rsi => self.rsi,
            Reg::Rdi => self.rdi,
            Reg::Rbp => self.rbp,
            Reg::R8 => self.r8,
            Reg::R9 => self.r9,
            Reg::R10 => self.r10,
            Reg::R11 => self.r11,
            Reg::R12 => self.r12,
            Reg::R13 => self.r13,
            Reg::R14 => self.r14,
            Reg::R15 => self.r15,
        }
    }

    /// Writes a general-purpose register.
    #[inline(always)]
    pub fn set(&mut self, reg: Reg, value: u64) {
        let slot = match reg {
            Reg::Rax => &mut self.rax,
            Reg::Rbx => &mut self.rbx,
            Reg::Rcx => &mut self.rcx,
            Reg::Rdx => &mut self.rdx,
            Reg::Rsi => &mut self.rsi,
            Reg::Rdi => &mut self.rdi,
            Reg::Rbp => &mut self.rbp,
            Reg::R8 => &mut self.r8,
            Reg::R9 => &mut self.r9,
            Reg::R10 => &mut self.r10,
            Reg::R11 => &mut self.r11,
            Reg::R12 => &mut self.r12,
            Reg::R13 => &mut self.r13,
            Reg::R14 => &mut self.r14,
            Reg::R15 => &mut self.r15,
        };
        *slot = value;
    }

    /// Copies the first `count` message words (`abi::regs::ipc::WORDS`) of
    /// `from`. The receiver's registers beyond `count` keep its own values:
    /// nothing of the sender's other registers leaks, and nothing is spent
    /// clearing them.
    #[inline(always)]
    pub fn copy_message_words(&mut self, from: &TrapFrame, count: usize) {
        const _: () = {
            use abi::regs::{Reg, ipc::WORDS};
            assert!(matches!(
                WORDS,
                [Reg::R8, Reg::R9, Reg::R12, Reg::R13, Reg::R14, Reg::R15]
            ));
        };
        let (to, from) = (self, from);
        match count {
            0 => {}
            1 => to.r8 = from.r8,
            2 => (to.r8, to.r9) = (from.r8, from.r9),
            3 => (to.r8, to.r9, to.r12) = (from.r8, from.r9, from.r12),
            4 => (to.r8, to.r9, to.r12, to.r13) = (from.r8, from.r9, from.r12, from.r13),
            5 => (to.r8, to.r9, to.r12, to.r13, to.r14) = (from.r8, from.r9, from.r12, from.r13, from.r14),
            _ => {
                (to.r8, to.r9, to.r12) = (from.r8, from.r9, from.r12);
                (to.r13, to.r14, to.r15) = (from.r13, from.r14, from.r15);
            }
        }
    }

    /// Sets the first `count` message words from `words` (the rest keep their
    /// values, as with [`TrapFrame::copy_message_words`]).
    #[inline(always)]
    pub fn set_message_words(&mut self, words: &[u64; abi::message::MAX_WORDS], count: usize) {
        let from = TrapFrame {
            r8: words[0],
            r9: words[1],
            r12: words[2],
            r13: words[3],
            r14: words[4],
            r15: words[5],
            ..TrapFrame::ZERO
        };
        self.copy_message_words(&from, count);
    }

    /// The message words, in message order.
    #[inline(always)]
    pub fn message_words(&self) -> [u64; abi::message::MAX_WORDS] {
        [self.r8, self.r9, self.r12, self.r13, self.r14, self.r15]
    }

    /// Syscall argument `index` (0 to 5) under the ABI's convention.
    pub fn arg(&self, index: usize) -> u64 {
        self.get(abi::regs::ARGS[index])
    }

    /// The syscall number.
    #[inline(always)]
    pub fn syscall_number(&self) -> u64 {
        self.get(abi::regs::NUMBER)
    }

    /// Sets the syscall result (a value or an error).
    pub fn set_result(&mut self, result: Result<u64, abi::Error>) {
        let value = match result {
            Ok(value) => value,
            Err(error) => error.to_return(),
        };
        self.set(abi::regs::RESULT, value);
    }

    /// Whether the frame was saved while running in ring 3.
    pub fn is_from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// A frame that enters ring 3 at `entry` with stack `stack`, through the
    /// code and data segments `selectors` (the architecture's), leaving by
    /// `iretq`.
    pub fn new_user(entry: u64, stack: u64, selectors: UserSelectors) -> TrapFrame {
        TrapFrame {
            vector: KERNEL_BUILT_VECTOR,
            rip: entry,
            cs: selectors.code,
            rflags: USER_RFLAGS,
            rsp: stack,
            ss: selectors.data,
            ..TrapFrame::ZERO
        }
    }
}

/// The segment selectors of ring 3, which the architecture's GDT defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSelectors {
    /// CS of user code.
    pub code: u64,
    /// SS (and DS) of user data.
    pub data: u64,
}

/// RFLAGS a user thread starts with: IF set (preemptible), the reserved bit 1,
/// nothing else.
pub const USER_RFLAGS: u64 = 0x202;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_stubs() {
        assert_eq!(TrapFrame::SIZE, 22 * 8);
        assert_eq!(offset_of!(TrapFrame, r11), 6 * 8);
        assert_eq!(offset_of!(TrapFrame, rax), 8 * 8);
        assert_eq!(offsets::R10, 9 * 8);
        assert_eq!(offsets::VECTOR, 15 * 8);
        assert_eq!(offsets::RIP, 17 * 8);
        assert_eq!(offsets::CS, 18 * 8);
        assert_eq!(offsets::RFLAGS, 19 * 8);
        assert_eq!(offsets::RSP, 20 * 8);
    }

    #[test]
    fn register_convention_round_trip() {
        let mut frame = TrapFrame::default();
        for (i, reg) in Reg::ALL.into_iter().enumerate() {
            frame.set(reg, 0x1000 + i as u64);
        }
        for (i, reg) in Reg::ALL.into_iter().enumerate() {
            assert_eq!(frame.get(reg), 0x1000 + i as u64, "{reg:?}");
        }
        frame.set(Reg::Rax, 7);
        frame.set(Reg::Rdi, 1);
        frame.set(Reg::R10, 4);
        assert_eq!(frame.syscall_number(), 7);
        assert_eq!(frame.arg(0), 1);
        assert_eq!(frame.arg(3), 4);
        frame.set_result(Err(abi::Error::FAULT));
        assert_eq!(abi::Error::decode(frame.rax), Err(abi::Error::FAULT as u64));
    }

    #[test]
    fn message_words_copy_only_the_count() {
        let mut from = TrapFrame::default();
        for (i, reg) in abi::regs::ipc::WORDS.iter().enumerate() {
            from.set(*reg, 100 + i as u64);
        }
        for count in 0..=6 {
            let mut to = TrapFrame::default();
            for reg in abi::regs::ipc::WORDS {
                to.set(reg, 7);
            }
            to.copy_message_words(&from, count);
            for (i, reg) in abi::regs::ipc::WORDS.iter().enumerate() {
                let expected = if i < count { 100 + i as u64 } else { 7 };
                assert_eq!(to.get(*reg), expected, "count {count}, word {i}");
            }
        }
    }

    #[test]
    fn new_user_frames_are_ring_3_and_iret_only() {
        let selectors = UserSelectors { code: 0x23, data: 0x1b };
        let frame = TrapFrame::new_user(0x40_1000, 0x7fff_0000, selectors);
        assert!(frame.is_from_user());
        assert_eq!(frame.vector, KERNEL_BUILT_VECTOR);
        assert_eq!(frame.rflags & (1 << 9), 1 << 9);
    }
}
