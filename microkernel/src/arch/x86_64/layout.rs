//! Where things are: the direct map of physical memory, the kernel image,
//! each CPU's stacks, the page the other CPUs start at, and the kernel's
//! own page-table root. A leaf module: every other one may use it.

use core::sync::atomic::{AtomicU64, Ordering};

/// Virtual address of physical address 0 in the direct map (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Physical memory the direct map (and the frame allocator) covers.
pub const DIRECT_MAP_SIZE: u64 = 4 << 30;
/// Virtual address the kernel image is linked at, minus its physical load address.
pub const KERNEL_VIRT_BASE: u64 = 0xffff_ffff_8000_0000;
/// The direct-map address of physical address `phys`.
pub const fn phys_to_virt(phys: u64) -> u64 {
    DIRECT_MAP_BASE + phys
}

/// The physical address of a kernel-image or direct-map virtual address.
pub const fn virt_to_phys(virt: u64) -> u64 {
    if virt >= KERNEL_VIRT_BASE {
        virt - KERNEL_VIRT_BASE
    } else {
        virt - DIRECT_MAP_BASE
    }
}

/// The PML4 of the kernel's own address space (no user half), set once by
/// `paging::init_kernel_space`.
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

/// The kernel's own PML4 (physical address).
/// The kernel's PML4 (physical), whose upper half every address space shares.
pub fn kernel_root() -> u64 {
    KERNEL_ROOT.load(Ordering::Relaxed)
}

/// Records the kernel's own PML4, once its tables are built, and which of
/// its upper-half slots are in use.
pub fn set_kernel_root(root: u64, slots: [u64; 4]) {
    KERNEL_ROOT.store(root, Ordering::Relaxed);
    for (word, bits) in KERNEL_SLOTS.iter().zip(slots) {
        word.store(bits, Ordering::Relaxed);
    }
}

/// The PML4 slots from 256 up that the kernel's own PML4 uses: bit `i` of
/// word `w` is slot `256 + 64 * w + i`. Set once with the kernel root.
static KERNEL_SLOTS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Calls `each` with every PML4 slot of the kernel half that is in use (a
/// few: the direct map and the kernel image).
pub fn kernel_slots(mut each: impl FnMut(usize)) {
    for (word, bits) in KERNEL_SLOTS.iter().enumerate() {
        let mut bits = bits.load(Ordering::Relaxed);
        while bits != 0 {
            each(256 + 64 * word + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// Makes the kernel's own page tables active on this CPU (another CPU on
/// its way up, still on the boot tables, or one leaving an address space
/// that is being freed).
pub fn load_kernel_root() {
    let root = kernel_root();
    // SAFETY: the kernel root maps the kernel half exactly as every other
    // PML4 does (the stack and code in use stay mapped).
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
}

/// The stacks of one CPU (tops).
#[derive(Clone, Copy, Debug)]
pub struct Stacks {
    pub kernel: u64,
    pub nmi: u64,
    pub double_fault: u64,
    pub machine_check: u64,
}

/// Physical page the other CPUs start at (below 1 MiB, unused by firmware
/// on QEMU, and never handed out: the frame allocator keeps clear of the
/// first megabyte).
pub const TRAMPOLINE: u64 = 0x8000;
/// Offset in the trampoline page of the stack top the next CPU takes.
pub const TRAMPOLINE_STACK: u64 = 0xff0;
/// Offset in the trampoline page of the next CPU's number.
pub const TRAMPOLINE_CPU: u64 = 0xff8;

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_stacks: u8;
}

/// The real-mode code the other CPUs start in, to copy to [`TRAMPOLINE`].
pub fn trampoline() -> &'static [u8] {
    // SAFETY: the two symbols bound the trampoline's bytes in .rodata.
    unsafe {
        let start = &raw const ap_trampoline_start;
        let len = (&raw const ap_trampoline_end as usize) - start as usize;
        core::slice::from_raw_parts(start, len)
    }
}

/// Bytes of one other CPU's stacks, guard pages included.
const AP_STACKS_STRIDE: u64 = 4096 + 65536 + 3 * (4096 + 16384);

/// The stacks of CPU `index` (1 and up), and the guard pages below each.
pub fn ap_stacks_of(index: usize) -> (Stacks, [u64; 4]) {
    assert!((1..kernel_core::config::MAX_CPUS).contains(&index));
    let base = &raw const ap_stacks as u64 + (index as u64 - 1) * AP_STACKS_STRIDE;
    let kernel = base + 4096 + 65536;
    let nmi = kernel + 4096 + 16384;
    let double_fault = nmi + 4096 + 16384;
    let machine_check = double_fault + 4096 + 16384;
    let stacks = Stacks {
        kernel,
        nmi,
        double_fault,
        machine_check,
    };
    let guards = [base, kernel, nmi, double_fault];
    (stacks, guards)
}

/// The boot CPU's stacks.
pub fn cpu0_stacks() -> Stacks {
    Stacks {
        kernel: &raw const cpu0_stack_top as u64,
        nmi: &raw const nmi_stack_top as u64,
        double_fault: &raw const double_fault_stack_top as u64,
        machine_check: &raw const machine_check_stack_top as u64,
    }
}

unsafe extern "C" {
    static cpu0_stack_top: u8;
    static nmi_stack_top: u8;
    static double_fault_stack_top: u8;
    static machine_check_stack_top: u8;
}
