//! Raw syscalls with every register the ABI uses set on the way in and read
//! back on the way out, through `syscall` or `int 0x80`, so the checks can
//! see any register the kernel changed.

use abi::regs::Reg;

/// The registers of one syscall: RAX and the ten argument/IPC registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub rax: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// The registers besides RAX, in the order reports list them.
pub const ARGUMENT_REGS: [Reg; 10] = [
    Reg::Rdi,
    Reg::Rsi,
    Reg::Rdx,
    Reg::R10,
    Reg::R8,
    Reg::R9,
    Reg::R12,
    Reg::R13,
    Reg::R14,
    Reg::R15,
];

impl Regs {
    /// The value of `reg` (0 for a register this struct does not carry).
    pub fn get(&self, reg: Reg) -> u64 {
        match reg {
            Reg::Rax => self.rax,
            Reg::Rdi => self.rdi,
            Reg::Rsi => self.rsi,
            Reg::Rdx => self.rdx,
            Reg::R10 => self.r10,
            Reg::R8 => self.r8,
            Reg::R9 => self.r9,
            Reg::R12 => self.r12,
            Reg::R13 => self.r13,
            Reg::R14 => self.r14,
            Reg::R15 => self.r15,
            _ => 0,
        }
    }

    /// Sets `reg` (ignored for a register this struct does not carry).
    pub fn set(&mut self, reg: Reg, value: u64) {
        match reg {
            Reg::Rax => self.rax = value,
            Reg::Rdi => self.rdi = value,
            Reg::Rsi => self.rsi = value,
            Reg::Rdx => self.rdx = value,
            Reg::R10 => self.r10 = value,
            Reg::R8 => self.r8 = value,
            Reg::R9 => self.r9 = value,
            Reg::R12 => self.r12 = value,
            Reg::R13 => self.r13 = value,
            Reg::R14 => self.r14 = value,
            Reg::R15 => self.r15 = value,
            _ => {}
        }
    }
}

/// How the syscall enters the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The `syscall` instruction (RCX and R11 clobbered).
    Syscall,
    /// `int 0x80` (RCX and R11 preserved).
    Int80,
}

impl Entry {
    pub fn name(self) -> &'static str {
        match self {
            Entry::Syscall => "syscall",
            Entry::Int80 => "int80",
        }
    }
}

/// Values RCX and R11 hold across `int 0x80` (each fits a sign-extended
/// 32-bit immediate).
const RCX_MARK: u64 = 0x5a5a_1234;
const R11_MARK: u64 = 0x3c3c_4321;

/// Makes the syscall in `regs` (RAX the number) and leaves the registers as
/// the kernel returned them. Returns false if `int 0x80` changed RCX or R11.
///
/// # Safety
/// The fuzzer's arguments are deliberately bad, so this is memory-safe only
/// because of how they are chosen: every range the kernel may write (an
/// out-pointer with its capacity, at most `MAX_BUFFER` bytes) lies in the
/// scratch pages or in memory with no writable page of the fuzzer (see
/// `layout::Layout::out_window_safe`), so whatever the kernel writes can
/// only land in the scratch pages, which hold no live data. Ranges the
/// kernel only reads may point anywhere: reads change nothing.
pub unsafe fn invoke(entry: Entry, regs: &mut Regs) -> bool {
    let Regs {
        mut rax,
        mut rdi,
        mut rsi,
        mut rdx,
        mut r10,
        mut r8,
        mut r9,
        mut r12,
        mut r13,
        mut r14,
        mut r15,
    } = *regs;
    let mut preserved = true;
    match entry {
        Entry::Syscall => {
            // SAFETY: see the function's contract: the kernel can write only
            // into the scratch pages. The asm touches no memory itself, and
            // `syscall` leaves RSP alone; RCX and R11 are clobbered.
            unsafe {
                core::arch::asm!(
                    "syscall",
                    inlateout("rax") rax,
                    inlateout("rdi") rdi,
                    inlateout("rsi") rsi,
                    inlateout("rdx") rdx,
                    inlateout("r10") r10,
                    inlateout("r8") r8,
                    inlateout("r9") r9,
                    inlateout("r12") r12,
                    inlateout("r13") r13,
                    inlateout("r14") r14,
                    inlateout("r15") r15,
                    lateout("rcx") _,
                    lateout("r11") _,
                    options(nostack),
                );
            }
        }
        Entry::Int80 => {
            let changed: u64;
            // SAFETY: as above. `int 0x80` from ring 3 switches to the
            // kernel stack (the TSS's RSP0) before pushing anything, so the
            // user stack is untouched. RCX and R11 are loaded with marks and
            // compared afterwards; `changed` is 0 when both survived.
            unsafe {
                core::arch::asm!(
                    "mov rcx, {rcx_mark}",
                    "mov r11, {r11_mark}",
                    "int 0x80",
                    "xor rcx, {rcx_mark}",
                    "xor r11, {r11_mark}",
                    "or rcx, r11",
                    rcx_mark = const RCX_MARK,
                    r11_mark = const R11_MARK,
                    inlateout("rax") rax,
                    inlateout("rdi") rdi,
                    inlateout("rsi") rsi,
                    inlateout("rdx") rdx,
                    inlateout("r10") r10,
                    inlateout("r8") r8,
                    inlateout("r9") r9,
                    inlateout("r12") r12,
                    inlateout("r13") r13,
                    inlateout("r14") r14,
                    inlateout("r15") r15,
                    out("rcx") changed,
                    out("r11") _,
                    options(nostack),
                );
            }
            preserved = changed == 0;
        }
    }
    *regs = Regs {
        rax,
        rdi,
        rsi,
        rdx,
        r10,
        r8,
        r9,
        r12,
        r13,
        r14,
        r15,
    };
    preserved
}
