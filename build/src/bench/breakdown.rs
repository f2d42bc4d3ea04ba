//! `cargo xtask bench --breakdown`: where the instructions of one IPC round
//! trip go, function by function.
//!
//! The method: `manifests/bench.toml` with `probe` in the coordinator's
//! place (the same system, so the kernel takes the same paths) boots under
//! TCG icount with QEMU's `-d exec,nochain,in_asm` log. The probe repeats
//! the `ipc_roundtrip.words_0` operation (a 0-word `Exchange::call` to
//! `benchserver`), each after an `abi_version` system call as a marker, and
//! times its loop with the TSC like the benchmarks do. With the two-CPU
//! image it boots a second time in `manifests/bench-smp.toml`, in
//! `smpbench`'s place on CPU 0, calling the server pinned on CPU 1
//! (`smp.ipc_roundtrip.cross_cpu`; [`Probe`]). icount runs the CPUs in turn
//! on one host thread, so the log is still one stream, and each segment
//! below holds both CPUs' work. In the log:
//!
//! - `in_asm` prints every translation block when it is translated: `IN:`,
//!   then one `0xADDRESS:  bytes  instruction` line per guest instruction,
//!   then a blank line;
//! - `exec` prints `Trace 0: HOST [cs_base/pc/flags/cflags]` each time a
//!   block runs (`nochain` keeps QEMU from chaining blocks, so none is
//!   skipped). A block is known by its host address: its translation is
//!   logged just before its first run. `Stopped execution of TB chain
//!   before HOST` takes back the last run (it never started), and
//!   `cpu_io_recompile: rewound execution of TB to PC` cuts it short.
//!
//! The stream of executed instructions is split at every run of
//! `syscall_entry` (its address from the kernel's symbol table). A segment
//! runs from one `syscall` to the next, whoever makes it. The probe's
//! markers return to the instruction after their own `syscall`; the call
//! and the reply switch address spaces. The pattern marker, call, reply,
//! marker is one round trip: the call segment goes from the client's
//! `syscall` to the server's next one (`reply_recv`), the reply segment from
//! there back to the client's next `syscall` (the marker). Instructions
//! are then summed per function: kernel addresses through the kernel's
//! symbols, user addresses through the ELF of the program that runs there
//! (the direction says which: both programs use the same addresses).
//!
//! Two checks: marker + call + reply must add up to the probe's own timing
//! of its loop (the log accounts for every instruction), and call + reply
//! plus the client's code before its call should come close to the
//! benchmark's figure (the loops around the call differ a little).

use super::figures::Hundredths;
use super::report::{number, table};
use crate::Error;
use crate::image::{BuildOptions, Image, build_image_with};
use crate::install::ensure_qemu;
use crate::manifest::Manifest;
use crate::qemu::{Accel, GuestStatus, RunOptions, qemu_args};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A round trip the probe repeats: which benchmark's, in which system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The benchmark whose operation it repeats, whose figure the total is
    /// checked against.
    pub benchmark: &'static str,
    /// What the round trip is, for the text.
    pub what: &'static str,
    /// `manifests/<manifest>.toml`, with the probe in the coordinator's
    /// place (the same handles, the same CPUs).
    pub manifest: &'static str,
    pub coordinator: &'static str,
    /// The program the probe calls, and the probe's `args` that name its
    /// handle.
    pub server: &'static str,
    pub args: &'static str,
    /// The image directory under `target/image/`.
    pub image: &'static str,
    /// The prefix of its `key=value` lines.
    pub key: &'static str,
}

/// The round trip on one CPU: `ipc_roundtrip.words_0`.
pub const SAME_CPU: Probe = Probe {
    benchmark: "ipc_roundtrip.words_0",
    what: "0 words, probe <-> benchserver, one CPU",
    manifest: super::runs::MANIFEST,
    coordinator: "bench",
    server: "benchserver",
    args: "",
    image: "bench-probe",
    key: "breakdown",
};

/// The round trip between two CPUs: `smp.ipc_roundtrip.cross_cpu` (both
/// CPUs' instructions, as the benchmark counts them).
pub const CROSS_CPU: Probe = Probe {
    benchmark: "smp.ipc_roundtrip.cross_cpu",
    what: "0 words, probe on CPU 0 <-> remote-server on CPU 1",
    manifest: super::smp::SMP_MANIFEST,
    coordinator: "smpbench",
    server: "remote-server",
    args: "server=2",
    image: "bench-probe-smp",
    key: "breakdown.cross_cpu",
};

/// QEMU's log items.
pub const LOG_FLAGS: &str = "exec,nochain,in_asm";
/// The client's binary, and the server's label in the tables.
pub const CLIENT: &str = "probe";
pub const SERVER: &str = "benchserver";
/// The kernel's `syscall` entry (LSTAR): where the stream is split.
pub const ENTRY: &str = "syscall_entry";
/// How far one loop of the probe may differ from one of the benchmark's,
/// in instructions: the loops differ (the probe's marker against the
/// benchmark's counter), the system calls do not.
pub const TOLERANCE: f64 = 10.0;
/// The line the probe prints when it is done, and its timing of one loop.
pub const PROBE_DONE: &str = "probe.status=done";
pub const PROBE_LOOP: &str = "probe.loop";

/// `probe`'s manifest with the probe in the coordinator's place.
pub fn probe_manifest(probe: &Probe) -> Result<Manifest, Error> {
    let mut manifest = Manifest::load(probe.manifest)?;
    let coordinator = manifest
        .programs
        .iter_mut()
        .find(|program| program.name == probe.coordinator)
        .ok_or_else(|| {
            Error::Bench(format!(
                "--breakdown: manifests/{}.toml has no program `{}`",
                probe.manifest, probe.coordinator
            ))
        })?;
    coordinator.bin = CLIENT.into();
    coordinator.args = probe.args.into();
    Ok(manifest)
}

/// Addresses below this are user space (the lower canonical half).
const USER_END: u64 = 0x0000_8000_0000_0000;
/// The length of the `syscall` instruction: a marker returns this far after
/// its own `syscall`.
const SYSCALL_LENGTH: u64 = 2;

/// An ELF file's functions (and assembly labels in code), for naming
/// addresses.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    /// Sorted by address; at most one per address.
    functions: Vec<Function>,
}

#[derive(Clone, Debug)]
struct Function {
    start: u64,
    /// 0 for labels of assembly code, which have no size.
    size: u64,
    /// Demangled, without the hash.
    name: String,
}

impl Symbols {
    pub fn load(path: &Path) -> Result<Self, String> {
        let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The symbols of code sections: functions, and labels without a type
    /// (assembly entry points such as `syscall_entry`).
    pub fn parse(data: &[u8]) -> Result<Self, String> {
        let file = object::File::parse(data).map_err(|e| format!("not an ELF file: {e}"))?;
        let mut functions: Vec<(bool, Function)> = Vec::new();
        for symbol in file.symbols() {
            if !matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Unknown) || symbol.address() == 0 {
                continue;
            }
            let in_code = symbol
                .section_index()
                .and_then(|index| file.section_by_index(index).ok())
                .is_some_and(|section| section.kind() == SectionKind::Text);
            let Ok(name) = symbol.name() else { continue };
            if !in_code || name.is_empty() || name.starts_with(".L") || name.starts_with('$') {
                continue;
            }
            let name = addr2line::demangle_auto(Cow::Borrowed(name), None).into_owned();
            let preferred = symbol.kind() == SymbolKind::Text && symbol.size() > 0;
            functions.push((
                preferred,
                Function {
                    start: symbol.address(),
                    size: symbol.size(),
                    name,
                },
            ));
        }
        // Per address, a sized function beats a label; then the first name.
        functions.sort_by(|(a_preferred, a), (b_preferred, b)| {
            a.start
                .cmp(&b.start)
                .then(b_preferred.cmp(a_preferred))
                .then(a.name.cmp(&b.name))
        });
        let mut result: Vec<Function> = Vec::new();
        for (_, function) in functions {
            if result.last().is_none_or(|last| last.start != function.start) {
                result.push(function);
            }
        }
        Ok(Self { functions: result })
    }

    /// The address of the symbol called `name`.
    pub fn address(&self, name: &str) -> Option<u64> {
        self.functions.iter().find(|f| f.name == name).map(|f| f.start)
    }

    /// The function `address` is in: the closest symbol at or below it,
    /// unless that one has a size that ends before the address.
    pub fn function(&self, address: u64) -> Option<&str> {
        let index = self.functions.partition_point(|f| f.start <= address).checked_sub(1)?;
        let function = &self.functions[index];
        if function.size != 0 && address >= function.start + function.size {
            return None;
        }
        Some(&function.name)
    }
}

/// A translated block: the address of each of its guest instructions.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub instructions: Vec<u64>,
}

impl Block {
    pub fn start(&self) -> u64 {
        self.instructions[0]
    }
}

/// One run of a block: which, and how many of its instructions ran.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Executed {
    pub block: u32,
    pub count: u32,
}

/// The blocks QEMU translated and the order they ran in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutionLog {
    pub blocks: Vec<Block>,
    pub executed: Vec<Executed>,
    /// Runs of blocks whose translation was not in the log (none expected).
    pub untranslated: usize,
}

impl ExecutionLog {
    fn block(&self, run: &Executed) -> &Block {
        &self.blocks[run.block as usize]
    }

    /// The addresses of the instructions a run executed.
    fn instructions(&self, run: &Executed) -> &[u64] {
        let block = self.block(run);
        &block.instructions[..(run.count as usize).min(block.instructions.len())]
    }
}

/// `ffff8011c179` or `0x7f049c000100` up to the first character that is not
/// a hex digit.
fn hex(text: &[u8]) -> Option<u64> {
    let text = text.strip_prefix(b"0x").unwrap_or(text);
    let mut value: u64 = 0;
    let mut digits = 0;
    for &byte in text {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => break,
        };
        value = (value << 4) | digit as u64;
        digits += 1;
    }
    (1..=16).contains(&digits).then_some(value)
}

/// `0xffffffff8011adc3:  65 48 89 24 25 08 00 00  movq %rsp, %gs:8` → its
/// address. The disassembler puts at most 8 bytes on a line: the rest of a
/// longer instruction follows on lines with an address and bytes but no
/// mnemonic (`0xffffffff8011adcb:  00`), which are not instructions.
fn instruction_line(text: &[u8]) -> Option<u64> {
    if !text.starts_with(b"0x") {
        return None;
    }
    let colon = text.iter().position(|&b| b == b':')?;
    let address = hex(&text[..colon])?;
    let is_byte = |token: &[u8]| token.len() == 2 && token.iter().all(u8::is_ascii_hexdigit);
    let has_mnemonic = text[colon + 1..]
        .split(|b| b.is_ascii_whitespace())
        .any(|token| !token.is_empty() && !is_byte(token));
    has_mnemonic.then_some(address)
}

/// `0: 0x7f049c000100 [00000000ffff0000/00000000fffffff0/00000040/ff020200] ...`
/// (after `Trace `) → (host address, guest pc).
fn trace_line(rest: &[u8]) -> Option<(u64, u64)> {
    // `memchr` (through `find`) rather than a loop over bytes: the log has
    // millions of these lines.
    let line = std::str::from_utf8(rest).ok()?;
    let host_at = line.find("0x")?;
    let host = hex(&rest[host_at..])?;
    let open = host_at + line[host_at..].find('[')?;
    let slash = open + line[open..].find('/')?;
    let pc = hex(&rest[slash + 1..])?;
    Some((host, pc))
}

/// Host address of a translated block → its index: a direct-mapped table
/// (the log has millions of lines, and `cargo xtask` is built without
/// optimizations) with a map for the few addresses that collide.
struct HostMap {
    slots: Vec<(u64, u32)>,
    collided: HashMap<u64, u32>,
}

impl HostMap {
    const BITS: u32 = 16;

    fn slot(host: u64) -> usize {
        ((host >> 4) & ((1 << Self::BITS) - 1)) as usize
    }

    fn insert(&mut self, host: u64, block: u32) {
        let slot = &mut self.slots[Self::slot(host)];
        if slot.0 == 0 || slot.0 == host {
            *slot = (host, block);
        } else {
            self.collided.insert(host, block);
        }
    }

    fn get(&self, host: u64) -> Option<u32> {
        let (known, block) = self.slots[Self::slot(host)];
        if known == host && host != 0 {
            Some(block)
        } else {
            self.collided.get(&host).copied()
        }
    }
}

impl Default for HostMap {
    fn default() -> Self {
        Self {
            slots: vec![(0, 0); 1 << Self::BITS],
            collided: HashMap::new(),
        }
    }
}

/// Reads QEMU's `-d exec,nochain,in_asm` log.
pub fn parse_log(mut reader: impl BufRead) -> std::io::Result<ExecutionLog> {
    let mut log = ExecutionLog::default();
    let mut by_host = HostMap::default();
    // The `IN:` block being read, and the last one read but not yet run.
    let mut reading: Option<Vec<u64>> = None;
    let mut translated: Option<Vec<u64>> = None;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = line.trim_ascii_end();
        if let Some(instructions) = reading.as_mut() {
            if text.is_empty() {
                translated = reading.take().filter(|i| !i.is_empty());
            } else if let Some(address) = instruction_line(text) {
                instructions.push(address);
            }
            continue;
        }
        if text.starts_with(b"IN:") {
            reading = Some(Vec::new());
        } else if let Some(rest) = text.strip_prefix(b"Trace ") {
            let Some((host, pc)) = trace_line(rest) else {
                continue;
            };
            if translated.as_ref().is_some_and(|i| i[0] == pc) {
                let instructions = translated.take().unwrap_or_default();
                by_host.insert(host, log.blocks.len() as u32);
                log.blocks.push(Block { instructions });
            }
            match by_host.get(host) {
                Some(block) if log.blocks[block as usize].start() == pc => {
                    let count = log.blocks[block as usize].instructions.len() as u32;
                    log.executed.push(Executed { block, count });
                }
                _ => log.untranslated += 1,
            }
        } else if let Some(rest) = text.strip_prefix(b"Stopped execution of TB chain before ") {
            // The block was logged, then did not start (icount ran out).
            if let (Some(host), Some(last)) = (hex(rest), log.executed.last())
                && by_host.get(host) == Some(last.block)
            {
                log.executed.pop();
            }
        } else if let Some(rest) = text.strip_prefix(b"cpu_io_recompile: rewound execution of TB to ") {
            // The block stopped before an I/O instruction, which runs again
            // in a block of its own.
            if let (Some(pc), Some(last)) = (hex(rest), log.executed.last_mut())
                && let Some(position) = log.blocks[last.block as usize]
                    .instructions
                    .iter()
                    .position(|&a| a == pc)
            {
                last.count = position as u32;
            }
        }
    }
    Ok(log)
}

/// The executed instructions from one run of `syscall_entry` to the next.
#[derive(Clone, Debug, PartialEq)]
struct Segment {
    /// Runs (indices into `executed`).
    start: usize,
    end: usize,
    /// The address of the `syscall` instruction that entered the kernel.
    entered_from: Option<u64>,
    /// Where user code resumed.
    resumed_at: Option<u64>,
    /// Kernel code ran again after user code resumed (an interrupt).
    interrupted: bool,
}

impl Segment {
    /// A system call that returned to its caller (the probe's markers).
    fn returned_to_caller(&self) -> bool {
        !self.interrupted
            && matches!((self.entered_from, self.resumed_at), (Some(from), Some(at)) if at == from + SYSCALL_LENGTH)
    }
}

fn segments(log: &ExecutionLog, entry: u64) -> Vec<Segment> {
    let starts: Vec<usize> = (0..log.executed.len())
        .filter(|&index| log.block(&log.executed[index]).start() == entry)
        .collect();
    starts
        .windows(2)
        .map(|pair| {
            let (start, end) = (pair[0], pair[1]);
            let entered_from = start
                .checked_sub(1)
                .and_then(|before| log.instructions(&log.executed[before]).last().copied())
                .filter(|&address| address < USER_END);
            let runs = &log.executed[start..end];
            let resumed = runs.iter().position(|run| log.block(run).start() < USER_END);
            Segment {
                start,
                end,
                entered_from,
                resumed_at: resumed.map(|index| log.block(&runs[index]).start()),
                interrupted: resumed
                    .is_some_and(|index| runs[index..].iter().any(|run| log.block(run).start() >= USER_END)),
            }
        })
        .collect()
}

/// One direction of a round trip: instructions per function, in the order
/// the functions first ran.
#[derive(Clone, Debug, PartialEq)]
pub struct Direction {
    /// `call` or `reply`.
    pub name: &'static str,
    /// Who enters the kernel and who runs afterwards.
    pub from: &'static str,
    pub to: &'static str,
    /// Per symbol of the symbol tables (inlined code counts for the
    /// function it was inlined into).
    pub functions: Vec<(String, u64)>,
    /// Per innermost function of our code, from the debug info (inlined
    /// functions count for themselves; `core` and `alloc` code counts for
    /// the function that used it).
    pub steps: Vec<Step>,
}

/// Instructions of one function, inlined or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub function: String,
    /// The symbol its code lies in.
    pub symbol: String,
    pub instructions: u64,
}

impl Direction {
    pub fn total(&self) -> u64 {
        self.functions.iter().map(|(_, count)| count).sum()
    }
}

/// An ELF file's symbols, and the file for its debug info.
#[derive(Clone, Debug, Default)]
pub struct Binary {
    pub symbols: Symbols,
    pub elf: Option<PathBuf>,
}

impl Binary {
    pub fn load(elf: &Path) -> Result<Self, String> {
        Ok(Self {
            symbols: Symbols::load(elf)?,
            elf: Some(elf.to_path_buf()),
        })
    }
}

/// Names addresses: the kernel's, and user code of the program that runs.
struct Namer<'a> {
    kernel: &'a Binary,
    user: &'a Binary,
    program: &'static str,
    symbolizer: crate::symbols::Symbolizer,
}

/// Names without the kernel's crate prefix.
fn short(name: &str) -> String {
    name.replace("microkernel::", "")
}

/// Functions of the libraries every program uses (`core::ptr::write`,
/// `<usize as core::slice::index::SliceIndex<[T]>>::get`): their code
/// counts for the function that called them. Our types' implementations of
/// library traits (`<ipc::ReplySlot as core::cmp::PartialEq>::eq`) are ours.
fn is_library(function: &str) -> bool {
    let library = |path: &str| {
        ["core::", "alloc::", "compiler_builtins::"]
            .iter()
            .any(|p| path.starts_with(p))
    };
    match function.strip_prefix('<').and_then(|rest| rest.split_once(" as ")) {
        Some((own, _)) => {
            let own = own
                .trim_start_matches(['&', '*'])
                .trim_start_matches("mut ")
                .trim_start_matches("const ");
            library(own) || !own.contains("::")
        }
        None => library(function.trim_start_matches('<')),
    }
}

impl Namer<'_> {
    /// The symbol and the innermost function of our code at `address`.
    fn names(&mut self, address: u64) -> (String, String) {
        let (binary, label) = if address < USER_END {
            (self.user, Some(format!("user ({})", self.program)))
        } else {
            (self.kernel, None)
        };
        let symbol = binary.symbols.function(address).map(short);
        let inner = binary.elf.as_ref().and_then(|elf| {
            let frames = self.symbolizer.frames(elf, address).ok()?;
            frames
                .iter()
                .filter_map(|frame| frame.function.as_deref())
                .find(|function| !is_library(function))
                .map(short)
        });
        let inner = inner.or_else(|| symbol.clone());
        match label {
            Some(label) => {
                let named = |name: Option<String>| name.map_or_else(|| label.clone(), |name| format!("{label} {name}"));
                (named(symbol), named(inner))
            }
            None => {
                let symbol = symbol.unwrap_or_else(|| format!("kernel {address:#x}"));
                let inner = inner.unwrap_or_else(|| symbol.clone());
                (symbol, inner)
            }
        }
    }
}

fn count_functions(log: &ExecutionLog, segment: &Segment, namer: &mut Namer<'_>) -> (Vec<(String, u64)>, Vec<Step>) {
    let mut functions: Vec<(String, u64)> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut names: HashMap<u64, (String, String)> = HashMap::new();
    for run in &log.executed[segment.start..segment.end] {
        for &address in log.instructions(run) {
            let (symbol, function) = names.entry(address).or_insert_with(|| namer.names(address));
            match functions.iter_mut().find(|(name, _)| name == symbol) {
                Some((_, count)) => *count += 1,
                None => functions.push((symbol.clone(), 1)),
            }
            match steps
                .iter_mut()
                .find(|step| step.function == *function && step.symbol == *symbol)
            {
                Some(step) => step.instructions += 1,
                None => steps.push(Step {
                    function: function.clone(),
                    symbol: symbol.clone(),
                    instructions: 1,
                }),
            }
        }
    }
    (functions, steps)
}

fn user_instructions(log: &ExecutionLog, segment: &Segment) -> u64 {
    log.executed[segment.start..segment.end]
        .iter()
        .flat_map(|run| log.instructions(run))
        .filter(|&&address| address < USER_END)
        .count() as u64
}

/// Where the instructions of one IPC round trip go.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown {
    /// Which round trip.
    pub probe: Probe,
    /// The client's call, until the server's next `syscall` (`reply_recv`).
    pub call: Direction,
    /// The server's `reply_recv`, until the client's next `syscall`.
    pub reply: Direction,
    /// The marker's segment: its system call, then the client's code up to
    /// its call.
    pub marker: u64,
    /// The client's instructions in the marker's segment.
    pub client_before_call: u64,
    /// Round trips found after the first, and how many of them cost exactly
    /// what the one shown costs.
    pub measured: usize,
    pub identical: usize,
    /// The probe's own timing of one loop (marker + round trip).
    pub probe_timing: Option<Hundredths>,
    /// The benchmark's figure, when the icount boots ran.
    pub benchmark: Option<Hundredths>,
    /// Size of QEMU's log (deleted afterwards) and block runs in it.
    pub log_bytes: u64,
    pub executed_blocks: usize,
}

impl Breakdown {
    /// Call plus reply.
    pub fn round_trip(&self) -> u64 {
        self.call.total() + self.reply.total()
    }

    /// One loop of the probe: marker, call, reply.
    pub fn probe_loop(&self) -> u64 {
        self.marker + self.round_trip()
    }

    /// The log's count of one loop agrees with the probe's timing (which
    /// adds its batches' own overhead, less than one instruction per loop).
    pub fn log_complete(&self) -> Option<bool> {
        self.probe_timing
            .map(|timing| (timing.as_f64() - self.probe_loop() as f64).abs() < 1.0)
    }

    /// The round trip with all the client's code around the call: what
    /// one loop of the benchmark does.
    pub fn comparable(&self) -> u64 {
        self.round_trip() + self.client_before_call
    }

    /// [`Self::comparable`] minus the benchmark's figure.
    pub fn difference(&self) -> Option<f64> {
        self.benchmark
            .map(|benchmark| self.comparable() as f64 - benchmark.as_f64())
    }

    pub fn matches(&self) -> Option<bool> {
        self.difference().map(|difference| difference.abs() <= TOLERANCE)
    }

    pub fn key_values(&self) -> Vec<(String, String)> {
        let yes_no = |value: bool| (if value { "yes" } else { "no" }).to_string();
        let mut lines = vec![
            ("call.instructions", self.call.total().to_string()),
            ("reply.instructions", self.reply.total().to_string()),
            ("roundtrip.instructions", self.round_trip().to_string()),
            ("client_before_call.instructions", self.client_before_call.to_string()),
            ("marker.instructions", self.marker.to_string()),
            ("round_trips", self.measured.to_string()),
            ("identical_round_trips", self.identical.to_string()),
        ];
        if let Some(complete) = self.log_complete() {
            lines.push(("log_complete", yes_no(complete)));
        }
        if let Some(matches) = self.matches() {
            lines.push(("matches_benchmark", yes_no(matches)));
        }
        let prefix = self.probe.key;
        lines
            .into_iter()
            .map(|(key, value)| (format!("{prefix}.{key}"), value))
            .collect()
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "Breakdown of one IPC round trip ({}: {}), from QEMU's execution log\n\
             ({} of the probe's {} round trips after the first cost the same; the others hold a timer tick or one of \
             its timing loop's batch boundaries)\n",
            self.probe.benchmark, self.probe.what, self.identical, self.measured
        );
        for direction in [&self.call, &self.reply] {
            let total = direction.total();
            out.push_str(&format!(
                "{}: {} enters the kernel ... {} runs until its next syscall\n",
                direction.name, direction.from, direction.to
            ));
            let mut rows: Vec<Vec<String>> = direction
                .steps
                .iter()
                .map(|step| {
                    // `user (probe) f (in __libsys_main)`, not `(in user (probe) __libsys_main)`.
                    let symbol = match step.symbol.split_once(") ") {
                        Some((label, symbol)) if label.starts_with("user (") => symbol,
                        _ => &step.symbol,
                    };
                    vec![
                        step.function.clone(),
                        if step.symbol == step.function {
                            String::new()
                        } else {
                            format!("(in {symbol})")
                        },
                        step.instructions.to_string(),
                        format!("{:.1}%", 100.0 * step.instructions as f64 / total.max(1) as f64),
                    ]
                })
                .collect();
            rows.push(vec!["total".into(), String::new(), total.to_string(), String::new()]);
            out.push_str(&table(&["function", "", "instructions", "share"], &rows));
            let symbols: Vec<String> = direction
                .functions
                .iter()
                .map(|(function, count)| format!("{function} {count}"))
                .collect();
            out.push_str(&format!("  per symbol: {}\n", symbols.join(", ")));
        }
        out.push_str(&format!(
            "round trip (call + reply): {} instructions\n",
            self.round_trip()
        ));
        let timing = match (self.probe_timing, self.log_complete()) {
            (Some(timing), Some(true)) => format!("; the probe timed it at {timing}: the log has every instruction"),
            (Some(timing), _) => format!("; the probe timed it at {timing}: THE LOG MISSES SOME"),
            (None, _) => "; the probe printed no timing".into(),
        };
        out.push_str(&format!(
            "the probe's loop: marker {} (of which {} are the client's code before its call) + round trip {} = {}{timing}\n",
            self.marker,
            self.client_before_call,
            self.round_trip(),
            self.probe_loop()
        ));
        match (self.benchmark, self.difference()) {
            (Some(benchmark), Some(difference)) => {
                let within = difference.abs() <= TOLERANCE;
                out.push_str(&format!(
                    "round trip + the client's code before its call = {}; the benchmark's {} = {benchmark}: \
                     difference {} ({} +-{}, what the loops around the call may differ by): {}\n",
                    self.comparable(),
                    self.probe.benchmark,
                    number(difference),
                    if within { "within" } else { "beyond" },
                    number(TOLERANCE),
                    if within { "matches" } else { "DOES NOT MATCH" }
                ))
            }
            _ => out.push_str(&format!("(no {} figure to check against)\n", self.probe.benchmark)),
        }
        out
    }

    pub fn json(&self) -> Value {
        let direction = |direction: &Direction| {
            let symbols: Vec<Value> = direction
                .functions
                .iter()
                .map(|(symbol, count)| json!({"symbol": symbol, "instructions": count}))
                .collect();
            let functions: Vec<Value> = direction
                .steps
                .iter()
                .map(
                    |step| json!({"function": step.function, "symbol": step.symbol, "instructions": step.instructions}),
                )
                .collect();
            json!({
                "from": direction.from,
                "to": direction.to,
                "total": direction.total(),
                "symbols": symbols,
                "functions": functions,
            })
        };
        json!({
            "benchmark_key": self.probe.benchmark,
            "call": direction(&self.call),
            "reply": direction(&self.reply),
            "round_trip": self.round_trip(),
            "marker": self.marker,
            "client_before_call": self.client_before_call,
            "probe_loop": self.probe_loop(),
            "probe_timing": self.probe_timing.map(Hundredths::as_f64),
            "log_complete": self.log_complete(),
            "comparable": self.comparable(),
            "benchmark": self.benchmark.map(Hundredths::as_f64),
            "difference": self.difference(),
            "matches": self.matches(),
            "tolerance": TOLERANCE,
            "measured_round_trips": self.measured,
            "identical_round_trips": self.identical,
            "log_bytes": self.log_bytes,
            "executed_blocks": self.executed_blocks,
        })
    }
}

/// Finds the probe's round trips in a parsed log and breaks down the
/// typical one. `client` and `server` name user addresses in each
/// direction.
pub fn analyze(
    probe: &Probe,
    log: &ExecutionLog,
    kernel: &Binary,
    client: &Binary,
    server: &Binary,
) -> Result<Breakdown, String> {
    let entry = kernel
        .symbols
        .address(ENTRY)
        .ok_or_else(|| format!("the kernel has no `{ENTRY}` symbol"))?;
    let segments = segments(log, entry);
    // marker, call, reply, marker; the reply returns behind the call.
    let found: Vec<usize> = (0..segments.len().saturating_sub(3))
        .filter(|&first| {
            let [marker, call, reply, next] = [
                &segments[first],
                &segments[first + 1],
                &segments[first + 2],
                &segments[first + 3],
            ];
            marker.returned_to_caller()
                && next.returned_to_caller()
                && !call.returned_to_caller()
                && !reply.returned_to_caller()
                && !call.interrupted
                && !reply.interrupted
                && matches!((call.entered_from, reply.resumed_at), (Some(from), Some(at)) if at == from + SYSCALL_LENGTH)
        })
        .collect();
    // The first is the warm-up.
    let measured = found.get(1..).unwrap_or_default();
    if measured.is_empty() {
        return Err(format!(
            "found {} round trips of the probe in the log ({} system calls); need a warm-up and at least one more",
            found.len(),
            segments.len()
        ));
    }
    let mut call_namer = Namer {
        kernel,
        user: server,
        program: SERVER,
        symbolizer: Default::default(),
    };
    let mut reply_namer = Namer {
        kernel,
        user: client,
        program: CLIENT,
        symbolizer: Default::default(),
    };
    // Each loop's cost; the most common (the smallest on a tie) is the
    // steady state (others had a timer tick, or a batch boundary of the
    // probe's timing).
    let segment_total = |index: usize| -> u64 {
        log.executed[segments[index].start..segments[index].end]
            .iter()
            .map(|run| log.instructions(run).len() as u64)
            .sum()
    };
    let loop_total = |first: usize| -> u64 { (first..first + 3).map(segment_total).sum() };
    let totals: Vec<u64> = measured.iter().map(|&first| loop_total(first)).collect();
    let count_of = |total: u64| totals.iter().filter(|&&other| other == total).count();
    let typical = totals
        .iter()
        .copied()
        .max_by(|&one, &other| count_of(one).cmp(&count_of(other)).then(other.cmp(&one)))
        .unwrap_or_default();
    let first = measured[totals.iter().position(|&total| total == typical).unwrap_or_default()];
    let (functions, steps) = count_functions(log, &segments[first + 1], &mut call_namer);
    let call = Direction {
        name: "call",
        from: CLIENT,
        to: SERVER,
        functions,
        steps,
    };
    let (functions, steps) = count_functions(log, &segments[first + 2], &mut reply_namer);
    let reply = Direction {
        name: "reply",
        from: SERVER,
        to: CLIENT,
        functions,
        steps,
    };
    Ok(Breakdown {
        probe: *probe,
        call,
        reply,
        marker: segment_total(first),
        client_before_call: user_instructions(log, &segments[first]),
        measured: measured.len(),
        identical: count_of(typical),
        probe_timing: None,
        benchmark: None,
        log_bytes: 0,
        executed_blocks: log.executed.len(),
    })
}

/// The probe's timing of one loop (`probe.loop=457.06`) in its output.
pub fn probe_timing(serial: &str) -> Option<Hundredths> {
    serial.lines().find_map(|line| {
        let (_, value) = line.split_once(&format!("{PROBE_LOOP}="))?;
        Hundredths::parse(value.trim())
    })
}

/// `target/bench/probe-exec.log`: QEMU's log while it is read.
pub fn log_path() -> PathBuf {
    crate::target_dir().join("bench").join("probe-exec.log")
}

/// Builds and boots the probe image with QEMU's execution log, reads the
/// log (then deletes it) and breaks down one round trip. `benchmark` is
/// the `ipc_roundtrip.words_0` figure to check the total against.
pub fn run(
    probe: &Probe,
    timeout: Option<Duration>,
    echo: bool,
    benchmark: Option<Hundredths>,
) -> Result<Breakdown, Error> {
    let manifest = probe_manifest(probe)?;
    let image = build_image_with(&manifest, probe.image, &BuildOptions { echo_cargo: echo })?;
    let failed = |message: String| Error::Bench(format!("--breakdown: {message}"));
    let kernel = Binary::load(&image.kernel).map_err(failed)?;
    let elf = |program: &str| {
        image
            .programs
            .get(program)
            .ok_or_else(|| failed(format!("the probe image has no `{program}`")))
            .and_then(|path| Binary::load(path).map_err(failed))
    };
    let (client, server) = (elf(probe.coordinator)?, elf(probe.server)?);

    let log = log_path();
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let result = boot_logged(&image, &log, timeout).and_then(|(status, serial)| {
        if status != GuestStatus::Exited(abi::machine::EXIT_SUCCESS) || !serial.contains(PROBE_DONE) {
            return Err(failed(format!(
                "the probe boot did not finish ({status}); its serial output ended with:\n{}",
                super::runs::tail(&serial, 12)
            )));
        }
        let bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or_default();
        let file = std::fs::File::open(&log).map_err(|e| Error::io(format!("cannot read {}", log.display()), e))?;
        let parsed = parse_log(BufReader::with_capacity(1 << 20, file))
            .map_err(|e| Error::io(format!("cannot read {}", log.display()), e))?;
        Ok((parsed, bytes, probe_timing(&serial)))
    });
    // The log is hundreds of megabytes: never leave it behind.
    let _ = std::fs::remove_file(&log);
    let (parsed, bytes, timing) = result?;
    if echo {
        eprintln!(
            "xtask: bench: breakdown: read {:.0} MB of log: {} blocks translated, {} runs",
            bytes as f64 / 1e6,
            parsed.blocks.len(),
            parsed.executed.len()
        );
    }
    let mut breakdown = analyze(probe, &parsed, &kernel, &client, &server).map_err(failed)?;
    breakdown.log_bytes = bytes;
    breakdown.probe_timing = timing;
    breakdown.benchmark = benchmark;
    Ok(breakdown)
}

/// Boots `image` under TCG icount with QEMU's execution log in `log`;
/// returns how the guest ended and its serial output.
fn boot_logged(image: &Image, log: &Path, timeout: Option<Duration>) -> Result<(GuestStatus, String), Error> {
    let qemu = ensure_qemu()?;
    let options = RunOptions {
        accel: Accel::Tcg,
        icount: true,
        ..RunOptions::default()
    };
    let mut args = qemu_args(image, &options, Accel::Tcg, None);
    args.extend(["-d".into(), LOG_FLAGS.into(), "-D".into(), log.as_os_str().to_owned()]);
    let mut child = Command::new(&qemu)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Qemu(format!("cannot start {}: {e}", qemu.display())))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Qemu("QEMU's output pipes are missing".into()));
    };
    let start = Instant::now();
    std::thread::scope(|scope| {
        let serial = scope.spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let errors = scope.spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    break Ok(GuestStatus::from_qemu_exit(status.code(), status.signal()));
                }
                Ok(None) if let Some(limit) = timeout.filter(|limit| start.elapsed() >= *limit) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Ok(GuestStatus::TimedOut { limit, after_nmi: None });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(Error::Qemu(format!("cannot wait for QEMU: {error}")));
                }
            }
        };
        let serial = String::from_utf8_lossy(&serial.join().unwrap_or_default()).into_owned();
        let errors = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
        let status = status?;
        if let GuestStatus::NoStatus { .. } = status
            && let Some(last) = errors.lines().rev().find(|line| !line.trim().is_empty())
        {
            return Err(Error::Qemu(format!("QEMU failed: {}", last.trim())));
        }
        Ok((status, serial))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made log: user block U1 (ends in a `syscall` at 0x1000),
    /// the entry, and so on. Addresses: user code 0x1000.., kernel
    /// 0xffffffff80000000.., entry at 0xffffffff80000000.
    fn block(host: u64, addresses: &[u64]) -> String {
        let mut text = String::from("----------------\nIN: \n");
        for address in addresses {
            text.push_str(&format!("{address:#x}:  90                       nop\n"));
        }
        text.push('\n');
        text.push_str(&trace(host, addresses[0]));
        text
    }

    fn trace(host: u64, pc: u64) -> String {
        format!("Trace 0: {host:#x} [0000000000000000/{pc:016x}/00000040/ff020200] \n")
    }

    #[test]
    fn trace_lines() {
        assert_eq!(
            trace_line(b"0: 0x7f049c000100 [00000000ffff0000/00000000fffffff0/00000040/ff020200] sym"),
            Some((0x7f049c000100, 0xfffffff0))
        );
        assert_eq!(trace_line(b"0: nonsense"), None);
        assert_eq!(hex(b"ffffffff8011c179"), Some(0xffffffff8011c179));
        assert_eq!(hex(b"0x10:  90"), Some(0x10));
        assert_eq!(hex(b"zz"), None);
        assert_eq!(
            instruction_line(b"0xffffffff8011adc3:  65 48 89 24 25 08 00 00  movq     %rsp, %gs:8"),
            Some(0xffffffff8011adc3)
        );
        assert_eq!(instruction_line(b"0xffffffff8011adcb:  00"), None);
        assert_eq!(
            instruction_line(b"0x201ab1:  0f 05                    syscall"),
            Some(0x201ab1)
        );
        assert_eq!(instruction_line(b"IN: "), None);
    }

    #[test]
    fn blocks_runs_and_corrections() {
        let mut text = block(0xa000, &[0x1000, 0x1001, 0x1003]);
        text.push_str(&trace(0xa000, 0x1000));
        text.push_str("Stopped execution of TB chain before 0xa000 [0000000000001000] \n");
        text.push_str(&trace(0xa000, 0x1000));
        text.push_str("cpu_io_recompile: rewound execution of TB to 1001\n");
        text.push_str(&trace(0xb000, 0x2000));
        let log = parse_log(text.as_bytes()).unwrap();
        assert_eq!(log.blocks.len(), 1);
        assert_eq!(
            log.executed,
            [Executed { block: 0, count: 3 }, Executed { block: 0, count: 1 }]
        );
        assert_eq!(log.untranslated, 1);
    }

    const ENTRY_AT: u64 = 0xffff_ffff_8000_0000;
    const FAST: u64 = 0xffff_ffff_8000_0100;
    const EXIT: u64 = 0xffff_ffff_8000_0200;

    fn kernel_symbols() -> Symbols {
        let function = |start, size, name: &str| Function {
            start,
            size,
            name: name.into(),
        };
        Symbols {
            functions: vec![
                function(ENTRY_AT, 0, ENTRY),
                function(FAST, 0x40, "microkernel::fast"),
                function(EXIT, 0, "return_to_frame"),
            ],
        }
    }

    /// The kernel part of a system call: entry (2), fast path (3), exit (1).
    fn kernel(text: &mut String, hosts: &mut u64, translated: &mut HashMap<u64, u64>) {
        for addresses in [&[ENTRY_AT, ENTRY_AT + 4][..], &[FAST, FAST + 1, FAST + 2], &[EXIT]] {
            run(text, hosts, translated, addresses);
        }
    }

    fn run(text: &mut String, hosts: &mut u64, translated: &mut HashMap<u64, u64>, addresses: &[u64]) {
        match translated.get(&addresses[0]) {
            Some(&host) => text.push_str(&trace(host, addresses[0])),
            None => {
                *hosts += 0x100;
                translated.insert(addresses[0], *hosts);
                text.push_str(&block(*hosts, addresses));
            }
        }
    }

    #[test]
    fn round_trips_are_found_and_counted() {
        let (mut text, mut hosts, mut translated) = (String::new(), 0x7000_0000u64, HashMap::new());
        // The client: marker syscall at 0x1010, call syscall at 0x1020;
        // the server: reply_recv syscall at 0x1050 (same addresses, other
        // program: only the direction tells).
        let text = &mut text;
        run(text, &mut hosts, &mut translated, &[0x1000, 0x1010]);
        for _ in 0..4 {
            kernel(text, &mut hosts, &mut translated); // marker: back behind 0x1010
            run(text, &mut hosts, &mut translated, &[0x1012, 0x1014, 0x1020]);
            kernel(text, &mut hosts, &mut translated); // call: the server resumes
            run(text, &mut hosts, &mut translated, &[0x1052, 0x1054, 0x1056, 0x1050]);
            kernel(text, &mut hosts, &mut translated); // reply: the client resumes
            run(text, &mut hosts, &mut translated, &[0x1022, 0x1000, 0x1010]);
        }
        kernel(text, &mut hosts, &mut translated);
        run(text, &mut hosts, &mut translated, &[0x1012]);
        let log = parse_log(text.as_bytes()).unwrap();
        let client = Symbols {
            functions: vec![Function {
                start: 0x1000,
                size: 0x100,
                name: "main".into(),
            }],
        };
        let kernel = Binary {
            symbols: kernel_symbols(),
            elf: None,
        };
        let client = Binary {
            symbols: client,
            elf: None,
        };
        let mut breakdown = analyze(&SAME_CPU, &log, &kernel, &client, &Binary::default()).unwrap();
        breakdown.benchmark = Some(Hundredths(1900));
        breakdown.probe_timing = Some(Hundredths(2875));
        assert_eq!((breakdown.measured, breakdown.identical), (2, 2));
        assert_eq!(
            breakdown.call.functions,
            [
                (ENTRY.to_string(), 2),
                ("fast".to_string(), 3),
                ("return_to_frame".to_string(), 1),
                ("user (benchserver)".to_string(), 4),
            ]
        );
        assert_eq!(
            breakdown.reply.functions.last().unwrap(),
            &("user (probe) main".to_string(), 3)
        );
        assert_eq!(breakdown.reply.total(), 9);
        assert_eq!(breakdown.client_before_call, 3);
        assert_eq!(breakdown.marker, 6 + 3);
        assert_eq!(breakdown.probe_loop(), 9 + 10 + 9);
        assert_eq!(breakdown.log_complete(), Some(true));
        assert_eq!(breakdown.comparable(), 10 + 9 + 3);
        assert_eq!(breakdown.difference(), Some(3.0));
        assert_eq!(breakdown.matches(), Some(true));
        assert_eq!(probe_timing("bench[6]: probe.loop=457.06\n"), Some(Hundredths(45706)));
        // Each probe's lines carry its own prefix.
        assert_eq!(
            breakdown.key_values()[2],
            ("breakdown.roundtrip.instructions".to_string(), "19".to_string())
        );
        let cross = analyze(&CROSS_CPU, &log, &kernel, &client, &Binary::default()).unwrap();
        assert_eq!(cross.key_values()[2].0, "breakdown.cross_cpu.roundtrip.instructions");
        assert!(cross.text().contains("smp.ipc_roundtrip.cross_cpu"));
    }

    /// Both probes take their coordinator's place, in their own manifest,
    /// with the arguments that name their server's handle.
    #[test]
    fn each_probe_replaces_its_coordinator() {
        for probe in [SAME_CPU, CROSS_CPU] {
            let manifest = probe_manifest(&probe).unwrap();
            let coordinator = manifest
                .programs
                .iter()
                .find(|program| program.name == probe.coordinator)
                .unwrap();
            assert_eq!(
                (coordinator.bin.as_str(), coordinator.args.as_str()),
                (CLIENT, probe.args)
            );
            assert!(manifest.programs.iter().any(|program| program.name == probe.server));
        }
        // The cross-CPU probe, on CPU 0, calls the server pinned on CPU 1
        // (smpbench's handle 2: 0 is the console, 1 the CPU-0 server).
        let manifest = probe_manifest(&CROSS_CPU).unwrap();
        let program = |name: &str| manifest.programs.iter().find(|p| p.name == name).unwrap();
        assert_eq!(program(CROSS_CPU.coordinator).cpus, [0]);
        assert_eq!(program(CROSS_CPU.server).cpus, [1]);
    }

    #[test]
    fn too_few_round_trips_are_an_error() {
        let log = ExecutionLog::default();
        let kernel = Binary {
            symbols: kernel_symbols(),
            elf: None,
        };
        let error = analyze(&SAME_CPU, &log, &kernel, &Binary::default(), &Binary::default()).unwrap_err();
        assert!(error.contains("found 0 round trips"), "{error}");
    }

    #[test]
    fn library_code_counts_for_its_caller() {
        for library in [
            "core::ptr::write",
            "<usize as core::slice::index::SliceIndex<[T]>>::get",
            "<u64 as core::cmp::PartialEq>::eq",
            "<&T as core::fmt::Display>::fmt",
            "<core::option::Option<T> as core::clone::Clone>::clone",
            "alloc::vec::Vec<T>::push",
        ] {
            assert!(is_library(library), "{library}");
        }
        for ours in [
            "microkernel::ipc::Ipc<_,_>::call_handoff",
            "<microkernel::ipc::ReplySlot as core::cmp::PartialEq>::eq",
            "libsys::raw::imp::ipc",
        ] {
            assert!(!is_library(ours), "{ours}");
        }
    }

    #[test]
    fn symbols_name_addresses() {
        let symbols = kernel_symbols();
        assert_eq!(symbols.address(ENTRY), Some(ENTRY_AT));
        assert_eq!(symbols.function(ENTRY_AT + 0x20), Some(ENTRY));
        assert_eq!(symbols.function(FAST + 0x3f), Some("microkernel::fast"));
        assert_eq!(symbols.function(FAST + 0x40), None);
        assert_eq!(symbols.function(EXIT + 0x1000), Some("return_to_frame"));
        assert_eq!(symbols.function(0x10), None);
    }

    #[test]
    fn symbols_of_this_test_binary() {
        let symbols = Symbols::load(&std::env::current_exe().unwrap()).unwrap();
        assert!(
            symbols
                .functions
                .iter()
                .any(|f| f.name.ends_with("breakdown::tests::symbols_of_this_test_binary")),
            "the test's own function is missing or not demangled"
        );
    }
}
