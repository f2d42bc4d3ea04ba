//! The per-CPU block, reached through GS while the kernel runs, and the
//! CPU's own tables and stacks: its GDT, its TSS and the stacks the TSS
//! names.
//!
//! In ring 3 the GS base is the user's and `KERNEL_GS_BASE` holds this block's
//! address; every entry from ring 3 executes `swapgs` first, every exit to
//! ring 3 executes it last. The entry stubs read the fields at the fixed
//! offsets in [`offsets`]. A second CPU needs only its own block.

use super::gdt::{self, DescriptorPointer};
use super::layout::Stacks;
use super::tss::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, Tss};
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel_core::config::MAX_CPUS;
use kernel_core::trapframe::TrapFrame;

/// This CPU's kernel state.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Address of this block, so code can turn GS into a pointer.
    pub self_pointer: u64,
    /// Scratch slot: the user RSP between `syscall` and the frame push.
    pub user_rsp: u64,
    /// Top of this CPU's kernel stack, on which all kernel code runs.
    pub kernel_stack_top: u64,
    /// Index of the thread running on this CPU (`u64::MAX` when idle).
    pub current_thread: u64,
    /// This CPU's number.
    pub cpu_id: u64,
    /// 1 when SMAP is on, so the entry stubs execute `clac` (which faults on
    /// CPUs without SMAP).
    pub smap_enabled: u64,
    /// Nonzero when this CPU's next register-only IPC syscall should take
    /// the kernel lock at once (`Machine::set_ipc_prefers_lock`).
    pub ipc_prefers_lock: u64,
    /// The user-copy routine for this CPU (`usercopy::init_cpu`): the one
    /// with `stac`/`clac` when SMAP is on, the plain one otherwise.
    pub user_copy: u64,
    /// The PML4 in CR3, kept here so a switch compares instead of reading CR3.
    pub active_root: u64,
    /// This CPU's local APIC id (what inter-processor interrupts name).
    pub apic_id: u64,
    /// Global descriptor table of this CPU (5 segments and the 2-word TSS).
    pub gdt: [u64; 7],
    /// This CPU's task state segment.
    pub tss: Tss,
    /// The frame of this CPU's idle loop (`machine::idle_frame`).
    pub idle: TrapFrame,
}

/// Field offsets for the assembly stubs.
pub mod offsets {
    use super::*;
    pub const USER_RSP: usize = offset_of!(PerCpu, user_rsp);
    /// Top of the current thread's register save area: where the `syscall`
    /// stub builds the frame, and where the CPU pushes an interrupt frame
    /// from ring 3. It is TSS.RSP0 itself, so a switch writes it once.
    pub const FRAME_TOP: usize = RSP0;
    pub const KERNEL_STACK_TOP: usize = offset_of!(PerCpu, kernel_stack_top);
    pub const SMAP_ENABLED: usize = offset_of!(PerCpu, smap_enabled);
    pub const CURRENT_THREAD: usize = offset_of!(PerCpu, current_thread);
    pub const ACTIVE_ROOT: usize = offset_of!(PerCpu, active_root);
    /// TSS.RSP0: the TSS starts with a 4-byte reserved field.
    pub const RSP0: usize = offset_of!(PerCpu, tss) + 4;
    pub const IOMAP_BASE: usize = offset_of!(PerCpu, tss) + offset_of!(Tss, iomap_base);
    pub const USER_COPY: usize = offset_of!(PerCpu, user_copy);
    pub const IPC_PREFERS_LOCK: usize = offset_of!(PerCpu, ipc_prefers_lock);
    pub const CPU_ID: usize = offset_of!(PerCpu, cpu_id);
}

impl PerCpu {
    const UNUSED: PerCpu = PerCpu {
        self_pointer: 0,
        user_rsp: 0,
        kernel_stack_top: 0,
        current_thread: u64::MAX,
        cpu_id: 0,
        smap_enabled: 0,
        ipc_prefers_lock: 0,
        user_copy: 0,
        active_root: 0,
        apic_id: 0,
        gdt: [0; 7],
        tss: Tss::new(),
        idle: TrapFrame::ZERO,
    };
}

/// Every CPU's block: CPU `i` owns `CPUS[i]` and reaches it only through
/// its GS base (set by [`init_cpu`] on that CPU).
static mut CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::UNUSED }; MAX_CPUS];

/// The PML4 each CPU has in CR3, for the other CPUs to read: a TLB
/// shootdown interrupts only the CPUs that run the address space.
static ACTIVE_ROOTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Sets up CPU `index`'s block on that CPU: its stacks, its GDT and TSS
/// (loaded, with every segment register reloaded), its ids. GS does not
/// point at it yet: the syscall MSRs set that up.
///
/// # Safety
/// Must run once per CPU, on that CPU, with `index` its own and unique,
/// before anything reads the block; the stacks must be this CPU's alone.
pub unsafe fn init_cpu(index: usize, apic_id: u32, stacks: Stacks) -> *mut PerCpu {
    assert!(index < MAX_CPUS);
    // SAFETY: the caller guarantees that this CPU alone touches block
    // `index`, now and later (through its GS).
    unsafe {
        let cpu = &raw mut CPUS[index];
        (*cpu).self_pointer = cpu as u64;
        (*cpu).cpu_id = index as u64;
        (*cpu).apic_id = u64::from(apic_id);
        (*cpu).kernel_stack_top = stacks.kernel;
        (*cpu).tss.rsp[0] = stacks.kernel;
        (*cpu).tss.ist[(IST_NMI - 1) as usize] = stacks.nmi;
        (*cpu).tss.ist[(IST_DOUBLE_FAULT - 1) as usize] = stacks.double_fault;
        (*cpu).tss.ist[(IST_MACHINE_CHECK - 1) as usize] = stacks.machine_check;
        load_tables(cpu);
        cpu
    }
}

/// Fills in and loads `cpu`'s GDT and TSS, then reloads every segment.
///
/// # Safety
/// `cpu` must be the calling CPU's block, with its TSS filled in.
unsafe fn load_tables(cpu: *mut PerCpu) {
    // SAFETY: the caller hands us the calling CPU's block.
    unsafe {
        let tss_base = &raw const (*cpu).tss as u64;
        let table = &raw mut (*cpu).gdt;
        let [null, kernel_code, kernel_data, user_data, user_code] = gdt::descriptors();
        let [tss_low, tss_high] = gdt::tss_descriptor(tss_base, size_of::<Tss>() as u32 - 1);
        *table = [null, kernel_code, kernel_data, user_data, user_code, tss_low, tss_high];
        let pointer = DescriptorPointer {
            limit: (size_of::<[u64; 7]>() - 1) as u16,
            base: table as u64,
        };
        core::arch::asm!(
            "lgdt [{pointer}]",
            // Reload CS with a far return, then the data segments.
            "push {code}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {data:x}",
            "mov es, {data:x}",
            "mov ss, {data:x}",
            "xor {tmp:e}, {tmp:e}",
            "mov fs, {tmp:x}",
            "mov gs, {tmp:x}",
            "ltr {tss:x}",
            pointer = in(reg) &pointer,
            code = const gdt::KERNEL_CODE as u64,
            data = in(reg) gdt::KERNEL_DATA as u64,
            tss = in(reg) gdt::TSS as u64,
            tmp = out(reg) _,
        );
    }
}

/// Opens `count` I/O ports from `first` in this CPU's TSS bitmap, for the
/// threads that run with the bitmap in force.
pub fn allow_ports(first: u16, count: u16) {
    // SAFETY: a plain write of this CPU's block, at boot.
    unsafe { (*this_cpu()).tss.allow_ports(first, count) }
}

/// Records whether SMAP is on, for the entry stubs (`clac` faults without).
pub fn set_smap(enabled: bool) {
    // SAFETY: a plain write of this CPU's block, at boot.
    unsafe { (*this_cpu()).smap_enabled = enabled as u64 }
}

/// Records the address of this CPU's user-copy routine
/// (`usercopy::init_cpu`).
pub fn set_user_copy(routine: u64) {
    // SAFETY: a plain write of this CPU's block, at boot.
    unsafe { (*this_cpu()).user_copy = routine }
}

/// This CPU's number, read through GS (one load).
#[inline(always)]
pub fn cpu_id() -> u64 {
    let id: u64;
    // SAFETY: GS points at this CPU's block whenever the kernel runs; the
    // field is written once at boot.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{offset}]",
            out(reg) id,
            offset = const offsets::CPU_ID,
            options(nostack, readonly, preserves_flags)
        )
    };
    id
}

/// [`cpu_id`] for the kernel's own paths, which run only once this CPU's GS
/// is set up (every kernel entry; not the bring-up code, which sets GS up):
/// the id never changes while the kernel runs on this CPU, so the compiler
/// may read it once for several uses in an entry.
#[inline(always)]
pub fn cpu_id_in_kernel() -> u64 {
    let id: u64;
    // SAFETY: as for `cpu_id`. `pure, nomem`: the field is written once,
    // before GS points at the block, and is constant from then on, so
    // reading it once and reusing the value is the same as reading it again.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{offset}]",
            out(reg) id,
            offset = const offsets::CPU_ID,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    id
}

/// This CPU's idle frame.
pub fn idle_frame() -> *mut TrapFrame {
    // SAFETY: the field's address, within this CPU's block.
    unsafe { &raw mut (*this_cpu()).idle }
}

/// The PML4 CPU `cpu` has in CR3 (0 for a CPU that is not up).
pub fn active_root_of(cpu: usize) -> u64 {
    ACTIVE_ROOTS[cpu].load(Ordering::Acquire)
}

/// Top of this CPU's kernel stack.
pub fn kernel_stack_top() -> u64 {
    // SAFETY: a plain read of this CPU's block.
    unsafe { (*this_cpu()).kernel_stack_top }
}

/// This CPU's block, through GS.
#[inline(always)]
pub fn this_cpu() -> *mut PerCpu {
    let pointer: u64;
    // SAFETY: GS points at the per-CPU block whenever the kernel runs (set at
    // boot, swapped on every ring transition); its first field is its address.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) pointer, options(nostack, readonly, preserves_flags)) };
    pointer as *mut PerCpu
}

/// Makes `thread` the one the CPU returns to: its address space (CR3 is
/// written only when it changes), the top of its save area (where the next
/// entry from ring 3 saves: TSS.RSP0, which the `syscall` stub reads too),
/// and the I/O map base (`iomap`).
#[inline(always)]
pub fn switch(thread: u64, frame_top: u64, root: u64, iomap: u16) {
    ACTIVE_ROOTS[cpu_id_in_kernel() as usize % MAX_CPUS].store(root, Ordering::Release);
    // SAFETY: GS points at this CPU's block while the kernel runs; the fields
    // are written with interrupts off. `root` is a live PML4 that maps the
    // kernel half like every other, so execution continues after the write.
    unsafe {
        core::arch::asm!(
            "cmp gs:[{active}], {root}",
            "je 2f",
            "mov cr3, {root}",
            "mov gs:[{active}], {root}",
            "2:",
            "mov gs:[{rsp0}], {top}",
            "mov gs:[{current}], {thread}",
            "mov word ptr gs:[{iomap_offset}], {iomap:x}",
            active = const offsets::ACTIVE_ROOT,
            rsp0 = const offsets::RSP0,
            current = const offsets::CURRENT_THREAD,
            iomap_offset = const offsets::IOMAP_BASE,
            root = in(reg) root,
            top = in(reg) frame_top,
            thread = in(reg) thread,
            iomap = in(reg) iomap,
            options(nostack),
        );
    }
}

/// The PML4 in CR3.
#[inline(always)]
pub fn active_root() -> u64 {
    // SAFETY: a plain read of this CPU's block; see `switch`.
    unsafe { (*this_cpu()).active_root }
}

/// Records a CR3 load done elsewhere (at boot, or by a TLB shootdown that
/// made this CPU leave an address space).
pub fn set_active_root(root: u64) {
    ACTIVE_ROOTS[cpu_id() as usize % MAX_CPUS].store(root, Ordering::Release);
    // SAFETY: a plain write of this CPU's block; see `switch`.
    unsafe { (*this_cpu()).active_root = root }
}

/// Records whether this CPU's next register-only IPC syscall should take
/// the kernel lock at once.
#[inline(always)]
pub fn set_ipc_prefers_lock(prefers: bool) {
    // SAFETY: a write of this CPU's block through GS (see `switch`).
    unsafe {
        core::arch::asm!(
            "mov qword ptr gs:[{field}], {value}",
            field = const offsets::IPC_PREFERS_LOCK,
            value = in(reg) prefers as u64,
            options(nostack, preserves_flags),
        )
    }
}

/// Whether this CPU's next register-only IPC syscall should take the
/// kernel lock at once.
#[inline(always)]
pub fn ipc_prefers_lock() -> bool {
    let value: u64;
    // SAFETY: a read of this CPU's block through GS (see `switch`).
    unsafe {
        core::arch::asm!(
            "mov {value}, qword ptr gs:[{field}]",
            field = const offsets::IPC_PREFERS_LOCK,
            value = out(reg) value,
            options(nostack, preserves_flags, readonly),
        )
    };
    value != 0
}
