//! The register convention: which register carries which argument and result.
//!
//! A syscall is `syscall` (or `int 0x80`) with the number in RAX and up to six
//! arguments in RDI, RSI, RDX, R10, R8, R9, the Linux order: RCX cannot carry
//! an argument because `syscall` overwrites it with the return address. The
//! result comes back in RAX; values in the top 4095 are errors
//! ([`crate::Error::decode`]). The kernel clobbers RCX and R11 on the
//! `syscall` path (they hold the user RIP and RFLAGS) and preserves every
//! other register that the syscall does not name as a result. `int 0x80`
//! clobbers nothing but RAX and the named results.
//!
//! IPC messages travel in registers both ways ([`ipc`]): a label and length
//! word in RSI and up to six message words in R8, R9, R12, R13, R14, R15.

/// The general-purpose registers, in the order their names are usually
/// listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    /// RAX: the syscall number in, the result out.
    Rax,
    /// RBX (never used by the ABI: inline assembly cannot name it).
    Rbx,
    /// RCX: destroyed by `syscall` (the return address).
    Rcx,
    /// RDX.
    Rdx,
    /// RSI.
    Rsi,
    /// RDI.
    Rdi,
    /// RBP (never used by the ABI: inline assembly cannot name it).
    Rbp,
    /// R8.
    R8,
    /// R9.
    R9,
    /// R10.
    R10,
    /// R11: destroyed by `syscall` (RFLAGS).
    R11,
    /// R12.
    R12,
    /// R13.
    R13,
    /// R14.
    R14,
    /// R15.
    R15,
}

impl Reg {
    /// All general-purpose registers except RSP.
    pub const ALL: [Reg; 15] = [
        Reg::Rax,
        Reg::Rbx,
        Reg::Rcx,
        Reg::Rdx,
        Reg::Rsi,
        Reg::Rdi,
        Reg::Rbp,
        Reg::R8,
        Reg::R9,
        Reg::R10,
        Reg::R11,
        Reg::R12,
        Reg::R13,
        Reg::R14,
        Reg::R15,
    ];

    /// The lower-case assembler name (`rdi`).
    pub const fn name(self) -> &'static str {
        match self {
            Reg::Rax => "rax",
            Reg::Rbx => "rbx",
            Reg::Rcx => "rcx",
            Reg::Rdx => "rdx",
            Reg::Rsi => "rsi",
            Reg::Rdi => "rdi",
            Reg::Rbp => "rbp",
            Reg::R8 => "r8",
            Reg::R9 => "r9",
            Reg::R10 => "r10",
            Reg::R11 => "r11",
            Reg::R12 => "r12",
            Reg::R13 => "r13",
            Reg::R14 => "r14",
            Reg::R15 => "r15",
        }
    }

    /// Parses an assembler name.
    pub fn from_name(name: &str) -> Option<Reg> {
        Reg::ALL.into_iter().find(|reg| reg.name() == name)
    }
}

/// The assembler name: `rdi`.
impl core::fmt::Display for Reg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(self.name())
    }
}

/// Carries the syscall number on entry.
pub const NUMBER: Reg = Reg::Rax;
/// Carries the result (or `-error`) on return.
pub const RESULT: Reg = Reg::Rax;
/// Carries a second result for the syscalls that have one (`spawn`'s pid,
/// `notify_wait`'s bits, `process_wait`'s detail).
pub const SECOND_RESULT: Reg = Reg::Rdx;
/// Argument registers, in argument order.
pub const ARGS: [Reg; 6] = [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::R10, Reg::R8, Reg::R9];
/// Registers the `syscall` instruction path destroys (return RIP, RFLAGS).
pub const CLOBBERED: [Reg; 2] = [Reg::Rcx, Reg::R11];

/// Registers of an IPC operation (`send`, `recv`, `call`, `reply`,
/// `reply_recv`). Inputs and outputs use the same slots, so a server can pass
/// what it received straight into its reply.
pub mod ipc {
    use super::Reg;

    /// In: the endpoint handle. Out: the badge of the handle the sender used.
    pub const HANDLE: Reg = Reg::Rdi;
    /// Out: the sender's badge (same register as [`HANDLE`]).
    pub const BADGE: Reg = Reg::Rdi;
    /// In and out: the [`crate::MsgInfo`] (label, word count, buffer length, flags).
    pub const INFO: Reg = Reg::Rsi;
    /// In: address of the byte buffer (sent from, received into). Preserved.
    pub const BUFFER: Reg = Reg::Rdx;
    /// In: capacity of the buffer for what is received. Preserved.
    pub const CAPACITY: Reg = Reg::R10;
    /// In and out: message words 0 to 5.
    pub const WORDS: [Reg; crate::message::MAX_WORDS] = [Reg::R8, Reg::R9, Reg::R12, Reg::R13, Reg::R14, Reg::R15];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for reg in Reg::ALL {
            assert_eq!(Reg::from_name(reg.name()), Some(reg));
            assert_eq!(std::format!("{reg}"), reg.name());
        }
        assert_eq!(Reg::from_name("rsp"), None);
    }

    #[test]
    fn convention_is_consistent() {
        // Arguments never use the clobbered registers or the number register.
        for reg in ARGS.iter().chain(ipc::WORDS.iter()) {
            assert!(!CLOBBERED.contains(reg), "{reg:?} is clobbered by syscall");
            assert_ne!(*reg, NUMBER);
        }
        // IPC uses the first four argument slots, then the message words.
        assert_eq!([ipc::HANDLE, ipc::INFO, ipc::BUFFER, ipc::CAPACITY], ARGS[..4]);
        assert_eq!(ipc::WORDS[..2], ARGS[4..]);
        // No register is used twice within a direction.
        let inputs = [ipc::HANDLE, ipc::INFO, ipc::BUFFER, ipc::CAPACITY];
        for (i, a) in inputs.iter().chain(ipc::WORDS.iter()).enumerate() {
            for b in inputs.iter().chain(ipc::WORDS.iter()).skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        // Inline assembly cannot name RBX or RBP, so the ABI never uses them.
        for reg in inputs.iter().chain(ipc::WORDS.iter()) {
            assert!(!matches!(reg, Reg::Rbx | Reg::Rbp));
        }
    }
}
