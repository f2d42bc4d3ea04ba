//! Capacities of the kernel's fixed tables and other build-time limits.
//!
//! There is no kernel heap: every object lives in a table sized here, and a
//! full table is an error code (`ETABLEFULL`) for the caller.

/// CPUs the kernel brings up at most (the scheduler's CPU masks are a
/// byte).
pub const MAX_CPUS: usize = 8;
/// Threads, of every process. Table sizes are powers of two, so hot
/// paths can mask an index instead of checking it.
pub const MAX_THREADS: usize = 64;
const _: () = assert!(MAX_THREADS.is_power_of_two() && MAX_PROCESSES.is_power_of_two());
/// Processes, including ones whose exit notice is still queued.
pub const MAX_PROCESSES: usize = 64;
/// Endpoints.
pub const MAX_ENDPOINTS: usize = 64;
/// Notifications.
pub const MAX_NOTIFICATIONS: usize = 64;
/// Process records: what a process handle names, kept until the last
/// handle to an ended process closes.
pub const MAX_PROCESS_RECORDS: usize = 64;
/// Memory objects.
pub const MAX_MEMORY_OBJECTS: usize = 64;
/// Memory objects one process may refer to (by handles or mappings) at once.
pub const MAX_PROCESS_OBJECTS: usize = 16;
/// Pages of every user stack (64 KiB); a guard page below stays unmapped.
pub const USER_STACK_PAGES: u64 = abi::memory::STACK_PAGES;
/// Top of every user stack: the user half ends at `abi::USER_END`.
pub const USER_STACK_TOP: u64 = abi::USER_END;
/// Lowest address of the stack's guard page: programs must lie below it.
pub const USER_IMAGE_END: u64 = USER_STACK_TOP - (USER_STACK_PAGES + 1) * abi::PAGE_SIZE;
/// Timer ticks a thread runs before others of its priority get a turn.
pub const TIME_SLICE_TICKS: u8 = 2;
/// Words of the frame allocator's bitmap: one bit per frame of the 4 GiB of
/// physical memory the kernel can reach.
pub const FRAME_WORDS: usize = (4 << 30) / abi::PAGE_SIZE as usize / 64;
