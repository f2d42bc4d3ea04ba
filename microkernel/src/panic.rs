//! A kernel panic prints its message and location and stops the run with
//! `EXIT_KERNEL_PANIC`.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    crate::log::force_unlock();
    match info.location() {
        Some(location) => crate::error!(
            "PANIC at {}:{}:{}: {}",
            location.file(),
            location.line(),
            location.column(),
            info.message()
        ),
        None => crate::error!("PANIC: {}", info.message()),
    }
    crate::arch::exit(abi::machine::EXIT_KERNEL_PANIC)
}
