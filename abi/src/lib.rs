//! The microkernel's ABI: the one definition that the kernel, `libsys` and
//! host tools share.
//!
//! Every syscall number, register slot, error code, message field and boot
//! image format is written once, here. `docs/abi.md` documents it and a test
//! checks that the document still matches. The crate is `no_std` and has no
//! inline assembly; the `std` feature adds what host tools need.

#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![warn(missing_docs)]

pub mod console;
pub mod error;
pub mod fault;
pub mod handle;
pub mod initrd;
pub mod machine;
pub mod manifest;
pub mod memory;
pub mod message;
pub mod notify;
pub mod process;
pub mod regs;
pub mod restart;
pub mod results;
pub mod stats;
pub mod syscall;
pub mod time;
pub mod trace;

pub use error::Error;
pub use handle::{Handle, Rights};
pub use message::MsgInfo;
pub use syscall::Syscall;

/// ABI version: `major << 16 | minor`. A kernel serves programs built for the
/// same major version and a minor version no newer than its own.
///
/// 1.1 added memory (`mem_map`, `mem_unmap`, `mem_protect`, `mem_create`,
/// `mem_map_object`; EWRONGKIND, EEXIST; MAP_READ and MAP_WRITE;
/// `Stats::promised_frames`), the trace's `Header` record and the error reply
/// ([`message::ERROR_LABEL`]).
///
/// 2.0 changed `spawn`, which returns a process handle in RAX and the pid in
/// RDX, and added notifications (`notify_create`, `notify`, `notify_wait`,
/// `notify_bind`), interrupts for drivers (`irq_bind`, `irq_ack`), process
/// handles (`process_wait`, `process_kill`, `process_watch`,
/// `process_info`), threads (`thread_create`, `thread_exit`), the SIGNAL,
/// WAIT and KILL rights, the time page ([`time`]) and the console's KILLED
/// notice.
pub const ABI_VERSION: u32 = 2 << 16;

/// Whether a program built for `program` may run on a kernel that reports
/// `kernel`.
pub const fn is_compatible(kernel: u32, program: u32) -> bool {
    kernel >> 16 == program >> 16 && (program & 0xffff) <= (kernel & 0xffff)
}

/// Lowest address that is not user space. User mappings lie in
/// `[USER_BASE, USER_END)`; the last page below the canonical boundary is never
/// mapped, so a `syscall` can never return to a non-canonical address.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Lowest address a user program may map: the first 2 MiB stay unmapped so
/// that null pointers (plus small offsets) fault. It is also where the linker
/// places a program by default.
pub const USER_BASE: u64 = 0x0020_0000;
/// Page size used by every mapping the kernel makes for user space.
pub const PAGE_SIZE: u64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_rule() {
        assert!(is_compatible(ABI_VERSION, ABI_VERSION));
        assert!(is_compatible(0x0001_0003, 0x0001_0002));
        assert!(!is_compatible(ABI_VERSION, 1 << 16 | 1), "2.0 changed spawn");
        assert!(!is_compatible(0x0001_0002, 0x0001_0003));
        assert!(!is_compatible(0x0002_0000, 0x0001_0000));
    }

    #[test]
    fn public_enums_and_flags_display() {
        fn display<T: core::fmt::Display>() {}
        display::<Syscall>();
        display::<syscall::ArgKind>();
        display::<syscall::Returns>();
        display::<Error>();
        display::<MsgInfo>();
        display::<message::MsgFlags>();
        display::<Rights>();
        display::<regs::Reg>();
        display::<trace::RecordKind>();
        display::<console::NoticeKind>();
        display::<manifest::Start>();
        display::<manifest::ManifestErrorKind>();
        display::<initrd::CpioError>();
    }
}
