//! Deliberate kernel faults, for the tests of the kernel's fault reports
//! (`fault=pf|gp|ud` on the command line). Each is an instruction sequence
//! that faults and never returns: the fault handler reports it and stops
//! the machine. And one fault the kernel survives (`fault=copy`): a user
//! copy from a page that is not there.

/// Which fault to cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    /// A read of an unmapped kernel address.
    PageFault,
    /// A read of a non-canonical address.
    GeneralProtection,
    /// `ud2`.
    InvalidOpcode,
}

/// Faults on purpose; the kernel's fault handler stops the machine.
pub fn inject_fault(fault: InjectedFault) -> ! {
    // SAFETY: each sequence faults at its first memory access or at `ud2`,
    // before it could change anything; the handler for a kernel-mode fault
    // never returns here.
    unsafe {
        match fault {
            InjectedFault::PageFault => core::arch::asm!(
                "mov rax, [{address}]",
                "ud2",
                address = in(reg) 0xffff_c000_dead_b000u64,
                options(noreturn, nostack)
            ),
            InjectedFault::GeneralProtection => core::arch::asm!(
                "mov rax, [{address}]",
                "ud2",
                address = in(reg) 0x8000_0000_0000_0000u64,
                options(noreturn, nostack)
            ),
            InjectedFault::InvalidOpcode => core::arch::asm!("ud2", options(noreturn, nostack)),
        }
    }
}

/// Copies from a user page that is not mapped, as a syscall's copy would if
/// the page were gone after its check: the page-fault handler must resume
/// the copy routine at its failure exit. Whether the copy reported the
/// fault (if the handler did not recover it, it stops the machine instead).
pub fn user_copy_faults() -> bool {
    let mut bytes = [0u8; 16];
    // The page past the user range: below the canonical boundary, and never
    // mapped in any address space.
    let source = abi::USER_END as *const u8;
    // SAFETY: the destination is this kernel buffer of 16 bytes; the source
    // lies in the user half, where the copy can only fault.
    unsafe { super::usercopy::copy(bytes.as_mut_ptr(), source, bytes.len()) }.is_err()
}
