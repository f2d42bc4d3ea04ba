//! Boot, after the CPU is up: memory, the kernel's page tables, the timer,
//! the boot image and its first programs.

use crate::arch::{self, BootInfo, InjectedFault};
use crate::state;
use core::sync::atomic::Ordering;
use kernel_core::kernel::Options;
use kernel_core::machine::Machine;
use kernel_core::memmap::{self, RegionKind};
use kernel_core::{clock, cmdline, image, trace};

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// Physical memory below this is left alone (real-mode data, BIOS, VGA).
const LOW_MEMORY_END: u64 = 0x10_0000;

/// Upcall: boots the kernel from what the CPU bring-up found.
#[unsafe(no_mangle)]
fn kernel_main(boot: BootInfo) -> ! {
    kernel_core::info!(
        "microkernel {} (ABI {}.{}), command line \"{}\"",
        env!("CARGO_PKG_VERSION"),
        abi::ABI_VERSION >> 16,
        abi::ABI_VERSION & 0xffff,
        boot.cmdline
    );
    init_memory(&boot);
    state::with(|k| {
        k.options = Options {
            probe: cmdline::flag(&boot.cmdline, "probe"),
        };
        if let Some(version) = cmdline::option(&boot.cmdline, "abi_version").and_then(cmdline::version) {
            kernel_core::warn!(
                "abi: reporting ABI version {}.{} (abi_version= on the command line)",
                version >> 16,
                version & 0xffff
            );
            k.machine.published().abi_version.store(version, Ordering::Relaxed);
        }
        if cmdline::flag(&boot.cmdline, "trace") {
            trace::enable(k);
            kernel_core::info!("trace: writing records to port {:#x}", abi::trace::TRACE_PORT);
        }
        if let Err(error) = arch::init_kernel_space(&mut k.frames) {
            panic!("cannot build the kernel page tables: {error:?}");
        }
    });
    let timer = arch::init_timer();
    match timer.measured {
        Some(measured) => kernel_core::info!(
            "timer: {} Hz, {} APIC counts per tick, TSC {} Hz ({} in {} us; TSC within {} ppm, ticks within {} ppm{})",
            arch::TIMER_HZ,
            timer.per_tick,
            timer.tsc_hz,
            timer.source.describe(),
            measured.window_us(),
            measured.error_ppm,
            measured.apic_error_ppm,
            match measured.restarts {
                0 => "",
                _ => ", started again after a stalled read",
            }
        ),
        None => kernel_core::info!(
            "timer: {} Hz, {} APIC counts per tick, TSC {} Hz ({})",
            arch::TIMER_HZ,
            timer.per_tick,
            timer.tsc_hz,
            timer.source.describe()
        ),
    }
    match arch::init_ioapic() {
        Some(lines) => kernel_core::info!("irq: I/O APIC with {lines} lines, all masked"),
        None => kernel_core::warn!("irq: no I/O APIC; interrupt lines cannot be granted"),
    }
    let rates = clock::Rates {
        tick_hz: arch::TIMER_HZ,
        tsc_hz: timer.tsc_hz,
        tsc_at_boot: timer.tsc_at_start,
        // Without a measured TSC rate, QEMU's 1 GHz.
        clock_per_tick: match timer.tsc_hz {
            0 => 1_000_000_000 / arch::TIMER_HZ,
            hz => hz / arch::TIMER_HZ,
        },
    };
    if let Err(error) = state::with(|k| clock::make_time_page(k, rates)) {
        panic!("no frame for the time page: {error}");
    }
    let limit = cmdline::option(&boot.cmdline, "smp")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    match arch::start_cpus(boot.rsdp, limit, timer.tsc_hz) {
        Ok(count) => kernel_core::info!("smp: {count} CPUs run threads"),
        Err(error) => kernel_core::warn!("smp: {error}; only the boot CPU runs threads"),
    }
    inject_fault(&boot.cmdline);
    let Some((start, end)) = boot.initrd else {
        kernel_core::info!("boot: no initrd, nothing to run");
        arch::exit(abi::machine::EXIT_SUCCESS)
    };
    // SAFETY: QEMU placed the initrd in RAM, the frame allocator reserved
    // its frames, and nothing ever writes them: the bytes are immutable for
    // the rest of the run.
    let initrd: &'static [u8] =
        unsafe { core::slice::from_raw_parts(arch::phys_to_virt(start) as *const u8, (end - start) as usize) };
    match state::with(|k| image::start(k, initrd)) {
        Err(error) => {
            kernel_core::error!("boot: unusable boot image: {error}");
            arch::exit(abi::machine::EXIT_BAD_IMAGE)
        }
        Ok(0) => {
            kernel_core::info!("boot: no program started, nothing to run");
            arch::exit(abi::machine::EXIT_SUCCESS)
        }
        Ok(started) => kernel_core::info!("boot: started {started} programs"),
    }
    corrupt_a_frame(&boot.cmdline);
    state::run()
}

/// Builds the frame allocator from the memory map, keeping out the kernel
/// image, the initrd and the boot data.
fn init_memory(boot: &BootInfo) {
    for region in &boot.memory_map {
        kernel_core::debug!("memory: {:#014x}-{:#014x} {:?}", region.start, region.end, region.kind);
    }
    let (usable, dropped) = memmap::usable_ram(&boot.memory_map);
    if dropped > 0 {
        kernel_core::warn!("memory: {dropped} usable ranges did not fit and are ignored");
    }
    // Linker-script symbols: only their addresses are used.
    let (image_start, image_end) = (
        &raw const __kernel_phys_start as u64,
        &raw const __kernel_phys_end as u64,
    );
    let (free, total) = state::with(|kernel| {
        let frames = &mut kernel.frames;
        let mut beyond = 0;
        for &(start, end) in &usable {
            let added = frames.add_region(start, end);
            beyond += (end - start) / 4096 - added as u64;
        }
        if beyond > 0 {
            kernel_core::warn!("memory: {beyond} frames above 4 GiB are not used");
        }
        frames.reserve(0, LOW_MEMORY_END);
        frames.reserve(image_start, image_end);
        frames.reserve(boot.start_info, boot.start_info + 4096);
        if let Some((start, end)) = boot.initrd {
            frames.reserve(start, end);
        }
        (frames.free_count(), frames.total_count())
    });
    let ram = boot.memory_map.iter().filter(|r| r.kind == RegionKind::Ram).count();
    kernel_core::info!(
        "memory: map has {} entries ({} RAM), {} usable ranges; {} free frames of {} ({} MiB free)",
        boot.memory_map.len(),
        ram,
        usable.len(),
        free,
        total,
        (free * 4096) >> 20
    );
    kernel_core::info!(
        "memory: kernel image {:#x}-{:#x}, initrd {}",
        image_start,
        image_end,
        match boot.initrd {
            Some((start, end)) => InitrdRange(start, end),
            None => InitrdRange(0, 0),
        }
    );
}

struct InitrdRange(u64, u64);

impl core::fmt::Display for InitrdRange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.1 == 0 {
            f.write_str("none")
        } else {
            write!(f, "{:#x}-{:#x} ({} bytes)", self.0, self.1, self.1 - self.0)
        }
    }
}

/// `bad_return=NAME` on the command line gives program NAME's first thread
/// a kernel-half RIP before it ever runs, so tests can check that the exit
/// path refuses to resume such a frame and ends only that process.
fn corrupt_a_frame(cmdline: &str) {
    let Some(name) = cmdline::option(cmdline, "bad_return") else {
        return;
    };
    state::with(|k| {
        let Some(slot) = k.processes.iter().position(|p| p.is_live() && p.name == name) else {
            kernel_core::warn!("bad_return: no program {name}");
            return;
        };
        let thread = k.processes[slot].thread;
        kernel_core::info!("boot: giving {name} a kernel-half RIP");
        k.frame_mut(thread).rip = 0xffff_8000_0000_1000;
    });
}

/// `fault=pf|gp|ud|panic` on the command line makes the kernel fault on
/// purpose, so tests can check how faults are reported; `fault=copy` makes
/// a user copy fault, which the kernel must turn into an error and go on.
fn inject_fault(cmdline: &str) {
    let fault = match cmdline::option(cmdline, "fault") {
        Some("copy") => {
            let faulted = arch::user_copy_faults();
            kernel_core::info!("boot: user_copy.fault_reported={}", if faulted { "yes" } else { "no" });
            return;
        }
        Some("pf") => InjectedFault::PageFault,
        Some("gp") => InjectedFault::GeneralProtection,
        Some("ud") => InjectedFault::InvalidOpcode,
        Some("panic") => panic!("injected panic"),
        _ => return,
    };
    kernel_core::info!("boot: injecting {fault:?}");
    arch::inject_fault(fault)
}
