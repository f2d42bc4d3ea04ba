//! The program runtime: `_start`, the ABI check, and the panic handler.
//!
//! The kernel starts a program at its ELF entry with RSP at the top of a
//! fresh stack. `_start` reads the TSC (its very first instruction, kept for
//! [`entry_tsc`]), aligns the stack as the System V ABI expects at a call,
//! checks that the kernel speaks this program's ABI, runs the `main` named
//! by [`entry!`](crate::entry) and exits with its status.

use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;

/// The program's arguments, set once at start.
static ARGS: Once<&'static str> = Once::new();

/// The TSC read by the program's first instruction (`_start`'s `rdtsc`).
static ENTRY_TSC: AtomicU64 = AtomicU64::new(0);

/// The time-stamp counter as the program's first instruction read it: when
/// the program started to run. Under QEMU's `-icount shift=0` the TSC
/// counts guest instructions, so for the first program the kernel runs this
/// is the number of instructions the machine executed before its first user
/// instruction (`cargo xtask bench` reports it as the boot cost). 0 on the
/// host.
pub fn entry_tsc() -> u64 {
    ENTRY_TSC.load(Ordering::Relaxed)
}

/// The program's argument string from its manifest entry (`args = "..."`),
/// empty if it has none.
pub fn args() -> &'static str {
    ARGS.get().copied().unwrap_or("")
}

/// The value of `key=value` among the arguments, if present.
pub fn arg(key: &str) -> Option<&'static str> {
    args()
        .split_ascii_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// Exit status of a program that panicked.
pub const PANIC_STATUS: i32 = 101;
/// Exit status of a program refused because the kernel's ABI is incompatible.
pub const ABI_MISMATCH_STATUS: i32 = 126;

/// What `main` may return: `()`, an exit status (`i32`), or a `Result`
/// whose error is printed (exit status 1).
pub trait Termination {
    /// The exit status.
    fn report(self) -> i32;
}

impl Termination for () {
    fn report(self) -> i32 {
        0
    }
}

impl Termination for i32 {
    fn report(self) -> i32 {
        self
    }
}

impl<E: core::fmt::Debug> Termination for Result<(), E> {
    fn report(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(error) => {
                crate::eprintln!("error: {error:?}");
                1
            }
        }
    }
}

/// Names the program's `main` function.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub fn __libsys_main() -> i32 {
            $crate::rt::Termination::report($main())
        }
    };
}

#[cfg(all(target_os = "none", not(test)))]
mod imp {
    use super::*;

    unsafe extern "Rust" {
        fn __libsys_main() -> i32;
    }

    /// The ELF entry point. The kernel passes the program's arguments in
    /// RDI (address) and RSI (length); they stay there for `start`. The
    /// first instruction reads the TSC for [`entry_tsc`] (it clobbers only
    /// RAX and RDX).
    #[unsafe(naked)]
    #[unsafe(no_mangle)]
    unsafe extern "C" fn _start() -> ! {
        core::arch::naked_asm!(
            "rdtsc",
            "shl rdx, 32",
            "or rax, rdx",
            "mov qword ptr [rip + {entry_tsc}], rax",
            "xor ebp, ebp",
            "and rsp, -16",
            "call {start}",
            "ud2",
            start = sym start,
            entry_tsc = sym ENTRY_TSC,
        )
    }

    extern "C" fn start(args: *const u8, len: usize) -> ! {
        // SAFETY: the kernel placed `len` bytes of arguments at `args`, on
        // the stack above everything this program will ever push; they stay
        // untouched for its whole life.
        let bytes = unsafe { core::slice::from_raw_parts(args, len) };
        super::ARGS.call_once(|| core::str::from_utf8(bytes).unwrap_or(""));
        let kernel = crate::sys::abi_version();
        if !abi::is_compatible(kernel, abi::ABI_VERSION) {
            crate::eprintln!(
                "libsys: the kernel's ABI {}.{} cannot run this program (built for ABI {}.{})",
                kernel >> 16,
                kernel & 0xffff,
                abi::ABI_VERSION >> 16,
                abi::ABI_VERSION & 0xffff
            );
            crate::sys::exit(ABI_MISMATCH_STATUS);
        }
        // SAFETY: `entry!` defines this function in the program.
        let status = unsafe { __libsys_main() };
        crate::sys::exit(status)
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        match info.location() {
            Some(location) => crate::eprintln!(
                "panicked at {}:{}: {}",
                location.file(),
                location.line(),
                info.message()
            ),
            None => crate::eprintln!("panicked: {}", info.message()),
        }
        crate::sys::exit(PANIC_STATUS)
    }
}
