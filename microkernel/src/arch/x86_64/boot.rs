//! PVH entry: QEMU's `-kernel` starts us here in 32-bit protected mode.
//!
//! The trampoline zeroes `.bss`, turns on long mode with boot page tables that
//! map the first 4 GiB three times (identity, for the jump; the direct map at
//! [`super::layout::DIRECT_MAP_BASE`]; and the kernel image at -2 GiB), then
//! calls [`pvh_entry64`] on the CPU 0 kernel stack. Everything it uses is
//! static data, so nothing can fail before Rust runs.

use super::layout;
use core::arch::global_asm;

// The PVH ELF note (XEN_ELFNOTE_PHYS32_ENTRY = 18): the 32-bit physical entry
// point. QEMU 7.2 only finds it in a 4-byte aligned note section.
global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4
    "#
);

// Boot page tables, built by the assembler. 2 MiB pages cover 0..4 GiB; the
// top gigabyte (PCI/LAPIC MMIO on QEMU) is mapped uncached.
global_asm!(
    r#"
    .section .boot.data, "aw"
    .balign 4096
    .global boot_pml4
boot_pml4:
    .quad boot_pdpt_low + 0x3
    .fill 255, 8, 0
    .quad boot_pdpt_low + 0x3
    .fill 254, 8, 0
    .quad boot_pdpt_high + 0x3
boot_pdpt_low:
    .quad boot_pd + 0x0000 + 0x3
    .quad boot_pd + 0x1000 + 0x3
    .quad boot_pd + 0x2000 + 0x3
    .quad boot_pd + 0x3000 + 0x3
    .fill 508, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + 0x0000 + 0x3
    .quad boot_pd + 0x1000 + 0x3
boot_pd:
    .set page, 0
    .rept 1536
    .quad (page << 21) | 0x83
    .set page, page + 1
    .endr
    .rept 512
    .quad (page << 21) | 0x9b
    .set page, page + 1
    .endr

    .balign 16
    .global boot_gdt, boot_gdt_end
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
    /* 32-bit code, for the other CPUs' way up from real mode. */
    .quad 0x00cf9a000000ffff
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
    "#,
    options(att_syntax)
);

// The trampoline. EBX holds the physical address of `hvm_start_info` and must
// survive until the call into Rust, so CPUID's clobber of EBX is worked around
// by keeping the pointer in ESI.
global_asm!(
    r#"
    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %esi

    /* Zero .bss through its physical address (paging is still off), four
       bytes at a time (the linker script aligns both ends to a page). The
       stacks are not in it: they need no zeroing. */
    movl $__bss_phys_start, %edi
    movl $__bss_phys_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl $pvh_start64_far, %ebp
    jmp enter_long_mode

    /* The way into long mode of every CPU, from 32-bit protected mode with
       flat segments: EBP points at the far pointer (offset, then selector)
       of the 64-bit code to jump to. Clobbers EAX, EBX, ECX, EDX, EDI. */
    .global enter_long_mode
enter_long_mode:
    /* CR4.PAE, then the boot page tables. */
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3

    /* EFER.LME, plus EFER.NXE when the CPU has NX. */
    movl $0x80000001, %eax
    cpuid
    movl $0xc0000080, %ecx
    movl %edx, %edi
    rdmsr
    orl $(1 << 8), %eax
    testl $(1 << 20), %edi
    jz 1f
    orl $(1 << 11), %eax
1:
    wrmsr

    /* CR0: paging, write-protect (the kernel honours read-only pages), protection. */
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax
    movl %eax, %cr0

    lgdt boot_gdt_pointer
    /* Through EAX: an EBP-based operand would go through SS. */
    movl %ebp, %eax
    ljmp *(%eax)

    .balign 4
pvh_start64_far:
    .long pvh_start64
    .word 0x08

    .code64
pvh_start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs

    /* Upper register halves are undefined after the switch: zero-extend. */
    movl %esi, %edi
    movabsq $cpu0_stack_top, %rsp
    xorl %ebp, %ebp
    movabsq ${entry}, %rax
    callq *%rax
2:
    hlt
    jmp 2b
    "#,
    entry = sym pvh_entry64,
    options(att_syntax)
);

// The other CPUs start in real mode at the page `smp` copies this code to
// (SIPI vector 0x08: CS = 0x0800, IP = 0). They switch to protected mode
// with the boot GDT and jump to `ap_start32`, which takes the BSP's path
// to long mode (`enter_long_mode`) with the boot page tables, then to
// `ap_start64`, which
// takes the stack and CPU number the BSP left at the end of the page and
// calls `ap_entry64` in the higher half.
global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .global ap_trampoline_start, ap_trampoline_end
    .code16
ap_trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl (ap_gdt_pointer - ap_trampoline_start)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x18, $ap_start32
    .balign 8
ap_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
ap_trampoline_end:
    .code64

    .section .boot.text, "ax"
    .code32
ap_start32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $ap_start64_far, %ebp
    jmp enter_long_mode

    .balign 4
ap_start64_far:
    .long ap_start64
    .word 0x08

    .code64
ap_start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq {stack_slot}, %rsp
    movq {cpu_slot}, %rdi
    xorl %ebp, %ebp
    movabsq ${entry}, %rax
    callq *%rax
2:
    hlt
    jmp 2b
    "#,
    stack_slot = const layout::TRAMPOLINE + layout::TRAMPOLINE_STACK,
    cpu_slot = const layout::TRAMPOLINE + layout::TRAMPOLINE_CPU,
    entry = sym ap_entry64,
    options(att_syntax)
);

/// First Rust code of another CPU: on its own kernel stack, with the boot
/// page tables.
extern "C" fn ap_entry64(cpu: u64) -> ! {
    super::setup::start_ap(cpu as usize)
}

// Kernel stacks of CPU 0, each above a guard page that the kernel unmaps when
// it remaps its image, so an overflow faults instead of corrupting memory.
// Their section, `.stacks`, lies outside `.bss`, so the trampoline does not
// zero this megabyte (under icount that was a million instructions, half the
// boot).
global_asm!(
    r#"
    .section .stacks, "aw", @nobits
    .balign 4096
    .global cpu0_stack_guard, cpu0_stack_top
cpu0_stack_guard:
    .skip 4096
    .skip 65536
cpu0_stack_top:
    .global ist_stacks_guard
ist_stacks_guard:
    .global nmi_stack_guard, nmi_stack_top
nmi_stack_guard:
    .skip 4096
    .skip 16384
nmi_stack_top:
    .global double_fault_stack_guard, double_fault_stack_top
double_fault_stack_guard:
    .skip 4096
    .skip 16384
double_fault_stack_top:
    .global machine_check_stack_guard, machine_check_stack_top
machine_check_stack_guard:
    .skip 4096
    .skip 16384
machine_check_stack_top:

    /* The other CPUs' stacks, the same way, one block each: kernel, NMI,
       double fault and machine check stacks above guard pages. */
    .balign 4096
    .global ap_stacks
ap_stacks:
    .rept 7
    .skip 4096
    .skip 65536
    .skip 4096
    .skip 16384
    .skip 4096
    .skip 16384
    .skip 4096
    .skip 16384
    .endr
    "#
);
const _: () = assert!(kernel_core::config::MAX_CPUS == 8, "ap_stacks holds 7 blocks");

/// First Rust code: runs on the CPU 0 stack with the boot page tables.
extern "C" fn pvh_entry64(start_info: u64) -> ! {
    super::setup::start(start_info)
}
