//! Faults: names of the x86 exception vectors and the kernel's fault notices.

/// Name of an exception vector, as printed in fault reports.
pub const fn vector_name(vector: u8) -> &'static str {
    match vector {
        0 => "divide error",
        1 => "debug",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        9 => "coprocessor segment overrun",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point error",
        20 => "virtualization exception",
        21 => "control protection exception",
        28 => "hypervisor injection exception",
        29 => "VMM communication exception",
        30 => "security exception",
        _ => "reserved exception",
    }
}

/// The exception vectors that tools and tests name.
pub mod vector {
    /// `div` by zero (#DE).
    pub const DIVIDE_ERROR: u8 = 0;
    /// Single step or a debug register (#DB).
    pub const DEBUG: u8 = 1;
    /// `int3` (#BP).
    pub const BREAKPOINT: u8 = 3;
    /// `ud2` or an unknown instruction (#UD).
    pub const INVALID_OPCODE: u8 = 6;
    /// An x87 or SSE instruction with the FPU off (#NM).
    pub const DEVICE_NOT_AVAILABLE: u8 = 7;
    /// A privileged instruction or a bad segment (#GP).
    pub const GENERAL_PROTECTION: u8 = 13;
    /// A page fault (#PF); CR2 holds the address.
    pub const PAGE_FAULT: u8 = 14;
}

/// Whether the CPU pushes an error code for this exception vector.
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// The bits of a page-fault error code, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFaultCode {
    /// Bit 0: the page was present (a protection violation), not missing.
    pub present: bool,
    /// Bit 1: the access was a write.
    pub write: bool,
    /// Bit 2: the access came from user mode.
    pub user: bool,
    /// Bit 3: a reserved bit of a paging entry was set.
    pub reserved_bit: bool,
    /// Bit 4: the access was an instruction fetch.
    pub instruction_fetch: bool,
}

impl PageFaultCode {
    /// The bits of `code`, the error code of a page fault (vector 14).
    pub const fn decode(code: u64) -> Self {
        PageFaultCode {
            present: code & 1 != 0,
            write: code & 2 != 0,
            user: code & 4 != 0,
            reserved_bit: code & 8 != 0,
            instruction_fetch: code & 16 != 0,
        }
    }

    /// `read`, `write` or `execute`.
    pub const fn access(self) -> &'static str {
        if self.instruction_fetch {
            "execute"
        } else if self.write {
            "write"
        } else {
            "read"
        }
    }

    /// `user` or `kernel`.
    pub const fn mode(self) -> &'static str {
        if self.user { "user" } else { "kernel" }
    }

    /// `not present`, `protection violation` or `reserved bit set`.
    pub const fn cause(self) -> &'static str {
        if self.reserved_bit {
            "reserved bit set"
        } else if self.present {
            "protection violation"
        } else {
            "not present"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_fault_codes() {
        let code = PageFaultCode::decode(0b00111);
        assert_eq!(
            (code.access(), code.mode(), code.cause()),
            ("write", "user", "protection violation")
        );
        let code = PageFaultCode::decode(0b10100);
        assert_eq!(
            (code.access(), code.mode(), code.cause()),
            ("execute", "user", "not present")
        );
        let code = PageFaultCode::decode(0);
        assert_eq!(
            (code.access(), code.mode(), code.cause()),
            ("read", "kernel", "not present")
        );
    }

    #[test]
    fn named_vectors() {
        use vector::*;
        let names = [
            (DIVIDE_ERROR, "divide error"),
            (DEBUG, "debug"),
            (BREAKPOINT, "breakpoint"),
            (INVALID_OPCODE, "invalid opcode"),
            (DEVICE_NOT_AVAILABLE, "device not available"),
            (GENERAL_PROTECTION, "general protection fault"),
            (PAGE_FAULT, "page fault"),
        ];
        for (vector, name) in names {
            assert_eq!(vector_name(vector), name);
        }
    }

    #[test]
    fn error_code_vectors() {
        assert!(has_error_code(14) && has_error_code(13) && has_error_code(8));
        assert!(!has_error_code(0) && !has_error_code(3) && !has_error_code(6));
    }
}
