//! A kernel panic prints its message and location and stops the run with
//! `EXIT_KERNEL_PANIC`.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    crate::arch::force_unlock_log();
    match info.location() {
        Some(location) => kernel_core::error!(
            "PANIC at {}:{}:{}: {}",
            location.file(),
            location.line(),
            location.column(),
            info.message()
        ),
        None => kernel_core::error!("PANIC: {}", info.message()),
    }
    crate::arch::exit(abi::machine::EXIT_KERNEL_PANIC)
}
