//! Bringing up each CPU, then handing over to the kernel.

use super::{cpu, entry, idt, layout, log, percpu, pvh, qemu, serial, smp, timer, upcalls, usercopy};

/// Brings up this CPU and hands over to the generic kernel: the serial port,
/// the boot information, the GDT, TSS and IDT, the control registers, the
/// syscall MSRs and GS.
pub fn start(start_info: u64) -> ! {
    serial::init();
    let boot = match pvh::read(start_info) {
        Ok(boot) => boot,
        Err(error) => {
            kernel_core::error!("boot: unusable PVH start info: {error}");
            qemu::exit(abi::machine::EXIT_BAD_IMAGE)
        }
    };
    log::init_log(&boot.cmdline);

    let apic_id = initial_apic_id();
    // SAFETY: the boot CPU, once, with its own stacks from boot.rs.
    let cpu = unsafe { percpu::init_cpu(0, apic_id, layout::cpu0_stacks()) };
    smp::init_boot_cpu(apic_id);
    idt::init();
    let features = cpu::init_control_registers();
    let msrs = cpu::init_syscall_msrs(cpu as u64, entry::syscall_entry as *const () as u64, features.nx);
    percpu::set_smap(features.smap);
    usercopy::init_cpu(features.smap);
    // Only the console's serial port is ever opened in the I/O bitmap.
    percpu::allow_ports(serial::COM1, serial::COM1_PORTS);
    kernel_core::info!(
        "cpu 0: boot CPU; GS reads cpu {}, APIC id {apic_id}; NX {} SMEP {} SMAP {} UMIP {}",
        percpu::cpu_id(),
        on_off(features.nx),
        on_off(features.smep),
        on_off(features.smap),
        on_off(features.umip)
    );
    kernel_core::info!(
        "cpu: EFER {:#x} STAR {:#018x} LSTAR {:#x} FMASK {:#x}",
        msrs.efer,
        msrs.star,
        msrs.lstar,
        msrs.fmask
    );
    // SAFETY: the kernel defines the upcall; this CPU is set up as it
    // expects.
    unsafe { upcalls::kernel_main(boot) }
}

/// Brings up another CPU (number `index`, on its own stacks, still on the
/// boot page tables): its tables, control registers, syscall MSRs, GS and
/// local APIC timer, as on the boot CPU; then it waits until the kernel
/// lets it schedule.
pub fn start_ap(index: usize) -> ! {
    let apic_id = initial_apic_id();
    let (stacks, _) = layout::ap_stacks_of(index);
    // SAFETY: this CPU, once, with the stacks the boot CPU reserved for
    // CPU `index` (and gave only to it).
    let cpu = unsafe { percpu::init_cpu(index, apic_id, stacks) };
    idt::load();
    layout::load_kernel_root();
    let features = cpu::init_control_registers();
    cpu::init_syscall_msrs(cpu as u64, entry::syscall_entry as *const () as u64, features.nx);
    percpu::set_smap(features.smap);
    usercopy::init_cpu(features.smap);
    percpu::allow_ports(serial::COM1, serial::COM1_PORTS);
    percpu::set_active_root(layout::kernel_root());
    timer::init_ap();
    kernel_core::info!("cpu {index}: up; GS reads cpu {}, APIC id {apic_id}", percpu::cpu_id());
    smp::say_alive();
    smp::wait_for_go();
    // SAFETY: the kernel defines the upcall; this CPU is set up as it
    // expects.
    unsafe { upcalls::kernel_ap_main(index) }
}

/// This CPU's initial local APIC id (CPUID leaf 1).
fn initial_apic_id() -> u32 {
    core::arch::x86_64::__cpuid(1).ebx >> 24
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
