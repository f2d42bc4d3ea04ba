//! x86 I/O ports, for programs the manifest grants them to (`io = ["serial"]`).
//!
//! These are safe functions: the CPU checks every access against the TSS
//! I/O permission bitmap, so a port the program was not granted raises a
//! general protection fault and the kernel kills the program, reporting why.
//! Nothing here can break memory safety.

/// Reads a byte from `port`.
pub fn inb(port: u16) -> u8 {
    #[cfg(target_os = "none")]
    {
        let value: u8;
        // SAFETY: `in` touches no memory; the CPU enforces the I/O bitmap.
        unsafe {
            core::arch::asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
        };
        value
    }
    #[cfg(not(target_os = "none"))]
    panic!("port {port:#x}: I/O ports exist only under the microkernel")
}

/// Writes a byte to `port`.
pub fn outb(port: u16, value: u8) {
    #[cfg(target_os = "none")]
    // SAFETY: `out` touches no memory; the CPU enforces the I/O bitmap.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
    #[cfg(not(target_os = "none"))]
    panic!("port {port:#x} <- {value:#x}: I/O ports exist only under the microkernel")
}
