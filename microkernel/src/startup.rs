//! Boot, after the CPU is up: memory, the boot image, the first programs.

use crate::arch::{self, BootInfo};
use crate::memmap::{self, RegionKind};
use crate::state::{BootImage, Kernel, Options};
use crate::{cmdline, kernel, process, state};
use abi::Rights;
use abi::initrd::Reader;
use abi::manifest::{self, Manifest, Start};

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// Physical memory below this is left alone (real-mode data, BIOS, VGA).
const LOW_MEMORY_END: u64 = 0x10_0000;

pub fn main(boot: BootInfo) -> ! {
    crate::info!(
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
            crate::warn!(
                "abi: reporting ABI version {}.{} (abi_version= on the command line)",
                version >> 16,
                version & 0xffff
            );
            crate::syscalls::REPORTED_ABI.store(version, core::sync::atomic::Ordering::Relaxed);
        }
        if cmdline::flag(&boot.cmdline, "trace") {
            crate::trace::enable();
            crate::info!("trace: writing records to port {:#x}", abi::trace::TRACE_PORT);
        }
        if let Err(error) = arch::init_kernel_space(&mut k.frames) {
            panic!("cannot build the kernel page tables: {error:?}");
        }
    });
    let (per_tick, calibrated) = arch::init_timer();
    crate::info!(
        "timer: {} Hz, {} APIC counts per tick ({})",
        arch::TIMER_HZ,
        per_tick,
        if calibrated {
            "calibrated on PIT channel 0"
        } else {
            "PIT silent: assumed 1 GHz"
        }
    );
    inject_fault(&boot.cmdline);
    let Some(initrd) = boot.initrd else {
        crate::info!("boot: no initrd, nothing to run");
        arch::exit(abi::machine::EXIT_SUCCESS)
    };
    state::with(|k| start_programs(k, initrd));
    kernel::run()
}

/// Reads the boot image, creates the manifest's endpoints and starts every
/// program marked to start at boot. A program that cannot start is reported
/// and skipped.
fn start_programs(k: &mut Kernel, (start, end): (u64, u64)) {
    // SAFETY: QEMU placed the initrd in RAM, the frame allocator reserved
    // its frames, and nothing ever writes them: the bytes are immutable for
    // the rest of the run.
    let initrd: &'static [u8] =
        unsafe { core::slice::from_raw_parts(arch::phys_to_virt(start) as *const u8, (end - start) as usize) };
    let files = match Reader::validate(initrd) {
        Ok(files) => files,
        Err(error) => bad_image(format_args!("initrd: {error}")),
    };
    let text = match Reader::find(initrd, manifest::FILE_NAME) {
        Ok(Some(entry)) => entry.data,
        _ => bad_image(format_args!("initrd has no {} file", manifest::FILE_NAME)),
    };
    // The manifest is parsed straight into the kernel state: it is too big
    // to move around on the kernel stack.
    let image = k.image.insert(BootImage {
        manifest: Manifest::default(),
        endpoints: [0; manifest::MAX_ENDPOINTS],
        files: [None; manifest::MAX_PROGRAMS],
    });
    if let Err(error) = image.manifest.parse_into(text) {
        bad_image(format_args!("{error}"));
    }
    for (index, program) in image.manifest.programs.iter().enumerate() {
        image.files[index] = Reader::find(initrd, program.file)
            .ok()
            .flatten()
            .map(|entry| entry.data);
    }
    let manifest = &image.manifest;
    crate::info!(
        "initrd: {files} files, {} bytes; manifest: {} programs, {} endpoints",
        initrd.len(),
        manifest.programs.len(),
        manifest.endpoints.len()
    );
    let boot_programs: heapless::Vec<usize, { manifest::MAX_PROGRAMS }> = (0..manifest.programs.len())
        .filter(|&i| manifest.programs[i].start == Start::Boot)
        .collect();
    for index in 0..image.manifest.endpoints.len() {
        let endpoint = k
            .ipc
            .create_endpoint()
            .expect("the kernel has room for every manifest endpoint");
        // The kernel keeps one reference so the endpoint outlives any one
        // process (programs started later still find it).
        k.ipc.handle_opened(endpoint, Rights::empty());
        image.endpoints[index] = endpoint;
        if image.manifest.endpoints[index].notices {
            k.notices = Some(endpoint);
        }
    }
    let mut started = 0;
    for program in boot_programs {
        match process::spawn(k, program) {
            Ok(_) => started += 1,
            Err(error) => {
                let name = k
                    .image
                    .as_ref()
                    .map_or("?", |image| image.manifest.programs[program].name);
                crate::error!("boot: program {name} not started: {error}");
            }
        }
    }
    if started == 0 {
        crate::info!("boot: no program started, nothing to run");
        arch::exit(abi::machine::EXIT_SUCCESS)
    }
    crate::info!("boot: started {started} programs");
}

fn bad_image(reason: core::fmt::Arguments) -> ! {
    crate::error!("boot: unusable boot image: {reason}");
    arch::exit(abi::machine::EXIT_BAD_IMAGE)
}

/// Builds the frame allocator from the memory map, keeping out the kernel
/// image, the initrd and the boot data.
fn init_memory(boot: &BootInfo) {
    for region in &boot.memory_map {
        crate::debug!("memory: {:#014x}-{:#014x} {:?}", region.start, region.end, region.kind);
    }
    let (usable, dropped) = memmap::usable_ram(&boot.memory_map);
    if dropped > 0 {
        crate::warn!("memory: {dropped} usable ranges did not fit and are ignored");
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
            crate::warn!("memory: {beyond} frames above 4 GiB are not used");
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
    crate::info!(
        "memory: map has {} entries ({} RAM), {} usable ranges; {} free frames of {} ({} MiB free)",
        boot.memory_map.len(),
        ram,
        usable.len(),
        free,
        total,
        (free * 4096) >> 20
    );
    crate::info!(
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

/// `fault=pf|gp|ud|panic` on the command line makes the kernel fault on
/// purpose, so tests can check how faults are reported.
fn inject_fault(cmdline: &str) {
    match cmdline::option(cmdline, "fault") {
        Some("pf") => {
            crate::info!("boot: injecting a page fault");
            // SAFETY: deliberately reads an unmapped kernel address to test
            // the fault report; the handler stops the machine.
            let value = unsafe { core::ptr::read_volatile(0xffff_c000_dead_b000 as *const u64) };
            crate::error!("read {value:#x} from an unmapped address?");
        }
        Some("gp") => {
            crate::info!("boot: injecting a general protection fault");
            // SAFETY: deliberately reads a non-canonical address.
            let value = unsafe { core::ptr::read_volatile(0x8000_0000_0000_0000 as *const u64) };
            crate::error!("read {value:#x} from a non-canonical address?");
        }
        Some("ud") => {
            crate::info!("boot: injecting an invalid opcode");
            // SAFETY: deliberately executes ud2 to test the fault report.
            unsafe { core::arch::asm!("ud2") };
        }
        Some("panic") => panic!("injected panic"),
        _ => {}
    }
}
