//! Runs an image in QEMU: builds the command line, streams and captures the
//! serial port, enforces the timeout, maps QEMU's exit status back to the
//! guest's exit value, and decides whether KVM can be used (`--accel auto`).
//!
//! The guest ends a run by writing a value `v` to `isa-debug-exit`; QEMU then
//! exits with `(v << 1) | 1`. An even status (or a signal) means the guest
//! wrote nothing: a triple fault under `-no-reboot`, or QEMU failed.
//!
//! The serial port's input is nothing, this terminal (an interactive run:
//! raw mode, Ctrl-C goes to the guest) or a script that types into QEMU's
//! stdin while it watches the output ([`Input`]).
//!
//! With [`RunOptions::trace`], the kernel also gets `trace` on its command
//! line and writes its syscall trace to an `isa-debugcon` device whose
//! output QEMU saves in a file ([`crate::trace`] decodes it). After every
//! run, the fault reports of the serial output are symbolized
//! ([`crate::symbols`]).

use crate::image::Image;
use crate::install::ensure_qemu;
use crate::{Error, lock};
use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The line the kernel prints (with `probe` on its command line) once a
/// ring-3 program made a system call.
pub const PROBE_LINE: &str = "[kernel] INFO  probe: ring-3 syscall ok";
/// How long the KVM probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// QEMU's `-icount` value of [`RunOptions::icount`]: one guest instruction
/// per virtual nanosecond (`shift=0`), no slowing down to match the host's
/// clock (`align=off`), and no real time while every CPU idles
/// (`sleep=off`: the virtual clock jumps to the next timer instead). With
/// `sleep=on`, QEMU's default, the time QEMU takes to start counts into the
/// virtual clock, and the instructions to the first user instruction varied
/// by up to 0.5 million from run to run.
pub const ICOUNT: &str = "shift=0,align=off,sleep=off";
/// How long a guest that timed out may take, after the NMI that asks for
/// its threads' states, to print them and exit before QEMU is killed.
pub const DUMP_GRACE: Duration = Duration::from_secs(2);

/// The accelerator QEMU uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// The emulator: slow, but works everywhere and is deterministic enough
    /// for tests.
    Tcg,
    /// Hardware virtualization through `/dev/kvm`.
    Kvm,
    /// KVM if a probe boot proves it works, TCG otherwise.
    Auto,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcg => "tcg",
            Self::Kvm => "kvm",
            Self::Auto => "auto",
        }
    }
}

/// The QEMU machine type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Machine {
    /// Minimal virtio machine without PCI: boots in tens of milliseconds.
    Microvm,
    /// A PC with PCIe, ACPI and an IOAPIC.
    Q35,
}

impl Machine {
    pub fn name(self) -> &'static str {
        match self {
            Self::Microvm => "microvm",
            Self::Q35 => "q35",
        }
    }
}

/// What the guest's serial port reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Input {
    /// Nothing: QEMU's stdin is `/dev/null` (with `gdb`, the terminal, as
    /// before).
    #[default]
    None,
    /// This terminal, for a person at the keyboard: QEMU puts it in raw
    /// mode with signals off, so Ctrl-C reaches the guest;
    /// [`TERMINAL_ESCAPE`] then `x` quits QEMU. The terminal's settings are
    /// put back after the run, even when QEMU is killed.
    Terminal,
    /// Typed by a script, the way a person types: each [`Step`] in order,
    /// a thread writing to QEMU's stdin while it watches the serial output.
    /// QEMU takes bytes only as fast as the guest's UART accepts them.
    Script(Vec<Step>),
}

/// One step of a typing script ([`Input::Script`]).
#[derive(Clone, Debug)]
pub enum Step {
    /// Wait until the serial output contains this text after where the
    /// previous `Expect` matched (from the start, for the first).
    Expect(String),
    /// Type these bytes.
    Send(Vec<u8>),
    /// Type what the function makes of the serial output so far (say,
    /// `kill` and a pid the guest printed); nothing if it returns nothing.
    SendFrom(fn(&str) -> Vec<u8>),
}

/// Steps are equal when they do the same; two `SendFrom` when they name
/// the same function (as far as addresses tell: [`std::ptr::fn_addr_eq`]).
impl PartialEq for Step {
    fn eq(&self, other: &Step) -> bool {
        match (self, other) {
            (Step::Expect(a), Step::Expect(b)) => a == b,
            (Step::Send(a), Step::Send(b)) => a == b,
            (Step::SendFrom(a), Step::SendFrom(b)) => std::ptr::fn_addr_eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for Step {}

/// The key that starts QEMU's commands on an interactive run: Ctrl-] (as
/// in telnet), then `x` to quit, `h` for help.
pub const TERMINAL_ESCAPE: u8 = 0x1d;

/// How to run an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    pub accel: Accel,
    pub machine: Machine,
    /// Kill QEMU after this long; `None` (or zero) waits forever.
    pub timeout: Option<Duration>,
    /// Appended to the manifest's kernel command line.
    pub append: String,
    /// `-icount shift=0,align=off,sleep=off` ([`ICOUNT`]; TCG only): one
    /// instruction per virtual nanosecond, so timing depends on the guest
    /// alone.
    pub icount: bool,
    /// `-s -S`: wait for GDB on port 1234; implies no timeout.
    pub gdb: bool,
    /// CPUs to give the machine; `None`: the manifest's `[kernel] cpus`.
    pub smp: Option<usize>,
    /// TCG with one host thread per CPU (`thread=multi`): real parallelism,
    /// but every inter-processor interrupt and contended lock costs host
    /// thread switches (a flood of cross-CPU messages ran 12 times slower
    /// than with one thread). Off: one host thread runs the CPUs in turn.
    pub parallel: bool,
    /// Stream serial lines to our stdout (and QEMU's stderr to our stderr) as
    /// they arrive, and report what is being done on stderr. Output is
    /// captured in [`RunOutcome`] either way.
    pub echo: bool,
    /// Record the kernel's syscall trace in this file (replaced if it
    /// exists): `trace` is added to the kernel command line and an
    /// `isa-debugcon` device at `abi::trace::TRACE_PORT` writes to the file.
    pub trace: Option<PathBuf>,
    /// What the serial port reads.
    pub input: Input,
}

/// TCG on microvm, 60 s timeout, nothing appended, no echo, no input:
/// what tests want.
impl Default for RunOptions {
    fn default() -> Self {
        Self {
            accel: Accel::Tcg,
            machine: Machine::Microvm,
            timeout: Some(DEFAULT_TIMEOUT),
            append: String::new(),
            icount: false,
            gdb: false,
            smp: None,
            parallel: false,
            echo: false,
            trace: None,
            input: Input::None,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestStatus {
    /// The guest wrote this value to `isa-debug-exit` (see `abi::machine`).
    Exited(u32),
    /// QEMU stopped without the guest writing an exit value: with an even
    /// exit status `code`, or killed by `signal`.
    NoStatus { code: Option<i32>, signal: Option<i32> },
    /// Still running after the timeout `limit`; QEMU was killed. First the
    /// guest was sent an NMI through QEMU's monitor and given
    /// [`DUMP_GRACE`] to print every thread's state and exit: `after_nmi` is
    /// the exit value it wrote then, if any
    /// ([`abi::machine::EXIT_DUMPED`] when it printed the states).
    TimedOut { limit: Duration, after_nmi: Option<u32> },
}

impl GuestStatus {
    /// Maps QEMU's exit status (`code`, or the `signal` that killed it) back
    /// to what the guest reported.
    pub fn from_qemu_exit(code: Option<i32>, signal: Option<i32>) -> Self {
        match code {
            Some(status) if status & 1 == 1 => Self::Exited((status >> 1) as u32),
            _ => Self::NoStatus { code, signal },
        }
    }

    /// The exit status of `cargo xtask run` for this outcome: the guest's
    /// exit value, or 124 (timeout) / 126 (no guest status).
    pub fn exit_code(&self) -> u8 {
        match *self {
            Self::Exited(value) => u8::try_from(value).unwrap_or(u8::MAX),
            Self::NoStatus { .. } => crate::EXIT_NO_STATUS,
            Self::TimedOut { .. } => crate::EXIT_TIMEOUT,
        }
    }

    /// The guest's exit value, if it wrote one (a run that timed out has
    /// none, whatever it wrote after the NMI).
    pub fn exit_value(&self) -> Option<u32> {
        match *self {
            Self::Exited(value) => Some(value),
            _ => None,
        }
    }

    /// A run that timed out, after which the kernel printed every thread's
    /// state.
    pub fn dumped(&self) -> bool {
        matches!(
            self,
            Self::TimedOut {
                after_nmi: Some(abi::machine::EXIT_DUMPED),
                ..
            }
        )
    }
}

impl fmt::Display for GuestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exited(value) => {
                write!(
                    f,
                    "guest exit value {value} ({value:#x}): {}",
                    abi::machine::describe(value)
                )
            }
            Self::NoStatus { code, signal } => {
                f.write_str("QEMU stopped without a guest exit status")?;
                match (code, signal) {
                    (Some(code), _) => write!(f, " (QEMU exit status {code})"),
                    (None, Some(signal)) => write!(f, " (QEMU killed by signal {signal})"),
                    (None, None) => Ok(()),
                }
            }
            Self::TimedOut { limit, after_nmi } => {
                write!(f, "timed out after {}", seconds(limit))?;
                match after_nmi {
                    None => Ok(()),
                    Some(abi::machine::EXIT_DUMPED) => f.write_str("; the kernel printed every thread's state above"),
                    Some(value) => write!(
                        f,
                        "; after an NMI the guest exited with {value} ({})",
                        abi::machine::describe(value)
                    ),
                }
            }
        }
    }
}

fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub status: GuestStatus,
    /// Everything the guest wrote to the serial port.
    pub serial: String,
    /// When each line of `serial` arrived, counted from QEMU's start (one
    /// entry per line, in order; a last line without its newline counts).
    pub serial_times: Vec<Duration>,
    /// QEMU's own stderr.
    pub stderr: String,
    /// Wall-clock time from starting QEMU to its end.
    pub wall: Duration,
    /// The accelerator actually used (never `Auto`).
    pub accel: Accel,
    /// The QEMU command line, for reports.
    pub command: String,
    /// The trace file, if the run was traced.
    pub trace: Option<PathBuf>,
    /// The fault reports of the serial output, symbolized (see
    /// [`crate::symbols`]): per report, a line like `faulty[7] at 0x20154a:
    /// core::ptr::read_volatile at .../ptr/mod.rs:2091:9`, then one line
    /// `    inlined into faulty::main at servers/demo/src/bin/faulty.rs:12:26`
    /// per enclosing inlined frame. Empty when nothing faulted.
    pub symbolized: Vec<String>,
    /// Where a typing script ([`Input::Script`]) stopped, when it did not
    /// finish: the step and why (the guest ended before the text it waited
    /// for appeared, say).
    pub script_stopped: Option<String>,
}

impl RunOutcome {
    /// The guest's exit value, if it wrote one.
    pub fn exit_value(&self) -> Option<u32> {
        self.status.exit_value()
    }
}

/// The kernel command line for a run: the manifest's, then `append`.
pub fn kernel_cmdline(image: &Image, append: &str) -> String {
    let mut line = image.cmdline.trim().to_string();
    if !append.trim().is_empty() {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(append.trim());
    }
    line
}

/// QEMU's arguments for booting `image` with a resolved `accel` (Tcg or Kvm),
/// with its human monitor on the Unix socket `monitor` (none without).
pub fn qemu_args(image: &Image, options: &RunOptions, accel: Accel, monitor: Option<&Path>) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-M",
        options.machine.name(),
        "-cpu",
        "max",
        "-m",
        "256M",
        "-display",
        "none",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let cpus = options.smp.unwrap_or(image.cpus).max(1).to_string();
    args.splice(6..6, ["-smp".into(), cpus.into()]);
    if options.input == Input::Terminal {
        // Raw mode without signals, so Ctrl-C is a byte for the guest; a
        // multiplexer only for its escape key (Ctrl-] x quits), which is
        // not Ctrl-A, a key programs may want.
        args.extend(
            [
                "-chardev",
                "stdio,id=serial0,mux=on,signal=off",
                "-serial",
                "chardev:serial0",
                "-echr",
            ]
            .map(OsString::from),
        );
        args.push(TERMINAL_ESCAPE.to_string().into());
    } else {
        args.extend(["-serial", "stdio"].map(OsString::from));
    }
    args.extend(["-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"].map(OsString::from));
    args.push("-monitor".into());
    args.push(match monitor {
        // QEMU's option syntax doubles commas inside a value.
        Some(path) => format!("unix:{},server=on,wait=off", path.to_string_lossy().replace(',', ",,")).into(),
        None => "none".into(),
    });
    args.push("-kernel".into());
    args.push(image.kernel.clone().into());
    args.push("-initrd".into());
    args.push(image.initrd.clone().into());
    let mut append = options.append.clone();
    if let Some(trace) = &options.trace {
        append.push_str(" trace");
        // QEMU's option syntax doubles commas inside a value.
        let path = trace.to_string_lossy().replace(',', ",,");
        args.push("-chardev".into());
        args.push(format!("file,id=trace,path={path}").into());
        args.push("-device".into());
        args.push(format!("isa-debugcon,iobase={:#x},chardev=trace", abi::trace::TRACE_PORT).into());
    }
    args.push("-append".into());
    args.push(kernel_cmdline(image, &append).into());
    args.push("-accel".into());
    let cpus = options.smp.unwrap_or(image.cpus);
    if accel == Accel::Tcg && cpus > 1 && !options.icount {
        // QEMU would pick one thread per CPU on its own.
        let threads = if options.parallel { "multi" } else { "single" };
        args.push(format!("tcg,thread={threads}").into());
    } else {
        args.push(accel.name().into());
    }
    if options.icount {
        args.extend(["-icount", ICOUNT].map(OsString::from));
    }
    if options.gdb {
        args.extend(["-s", "-S"].map(OsString::from));
    }
    args
}

/// Boots `image` in QEMU (installing QEMU first if needed) and waits for it
/// to stop or time out.
pub fn run(image: &Image, options: &RunOptions) -> Result<RunOutcome, Error> {
    let qemu = ensure_qemu()?;
    let accel = resolve_accel(image, options)?;
    if options.icount && accel == Accel::Kvm {
        return Err(Error::Usage("--icount needs TCG (use --accel tcg)".into()));
    }
    if let Some(trace) = &options.trace {
        if let Some(dir) = trace.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        match std::fs::remove_file(trace) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(format!("cannot replace {}", trace.display()), error));
            }
            _ => {}
        }
    }
    let mut outcome = boot(&qemu, image, options, accel, true)?;
    outcome.symbolized = crate::symbols::symbolize(&outcome.serial, image);
    Ok(outcome)
}

/// Boots and waits. With `dump_on_timeout`, a run that times out is first
/// sent an NMI (see [`stop_after_timeout`]).
fn boot(
    qemu: &Path,
    image: &Image,
    options: &RunOptions,
    accel: Accel,
    dump_on_timeout: bool,
) -> Result<RunOutcome, Error> {
    let timeout = if options.gdb {
        None
    } else {
        options.timeout.filter(|t| !t.is_zero())
    };
    let monitor = (dump_on_timeout && timeout.is_some()).then(monitor_socket);
    let args = qemu_args(image, options, accel, monitor.as_deref());
    let command_line = shell_words(qemu, &args);
    if options.echo {
        eprintln!("xtask: {command_line}");
    }
    if options.gdb {
        eprintln!(
            "xtask: QEMU waits for GDB on localhost:1234; attach with: gdb {} -ex 'target remote :1234'",
            image.kernel.display()
        );
    }
    let stdin = match &options.input {
        Input::Terminal => Stdio::inherit(),
        Input::Script(_) => Stdio::piped(),
        // With --gdb there is no timeout and the user may type to the serial
        // port. Otherwise QEMU gets no terminal: if it is killed on a timeout
        // it cannot leave the terminal in raw mode.
        Input::None if options.gdb => Stdio::inherit(),
        Input::None => Stdio::null(),
    };
    // QEMU restores the terminal when it exits, but not when it is killed.
    let terminal = (options.input == Input::Terminal)
        .then(TerminalSettings::save)
        .flatten();
    if options.echo && options.input == Input::Terminal {
        eprintln!("xtask: the serial port reads this terminal; Ctrl-C goes to the guest, Ctrl-] x quits QEMU");
    }
    let mut child = Command::new(qemu)
        .args(&args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Qemu(format!("cannot start {}: {e}", qemu.display())))?;
    let start = Instant::now();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Qemu("QEMU's output pipes are missing".into()));
    };
    let typist = match (&options.input, child.stdin.take()) {
        (Input::Script(steps), Some(stdin)) => Some((steps.as_slice(), stdin)),
        _ => None,
    };
    let echo = options.echo;
    let serial = Transcript::default();
    let errors = Transcript::default();
    let outcome = std::thread::scope(|scope| {
        let serial_reader = scope.spawn(|| pump(stdout, echo.then_some(Sink::Stdout), &serial, start));
        let errors_reader = scope.spawn(|| pump(stderr, echo.then_some(Sink::Stderr), &errors, start));
        let typist = typist.map(|(steps, stdin)| scope.spawn(|| type_script(stdin, steps, &serial)));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    break Ok(GuestStatus::from_qemu_exit(status.code(), status.signal()));
                }
                Ok(None) => {}
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(Error::Qemu(format!("cannot wait for QEMU: {error}")));
                }
            }
            if let Some(limit) = timeout
                && start.elapsed() >= limit
            {
                if echo && monitor.is_some() {
                    eprintln!(
                        "xtask: timed out after {}; asking the kernel for its threads' states (NMI)",
                        seconds(limit)
                    );
                }
                let after = stop_after_timeout(&mut child, monitor.as_deref(), DUMP_GRACE);
                let after_nmi = after.and_then(|status| {
                    use std::os::unix::process::ExitStatusExt;
                    GuestStatus::from_qemu_exit(status.code(), status.signal()).exit_value()
                });
                break Ok(GuestStatus::TimedOut { limit, after_nmi });
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let wall = start.elapsed();
        if let Some(socket) = &monitor {
            let _ = std::fs::remove_file(socket);
        }
        // The pipes close when QEMU exits, so the readers finish, and the
        // typist with them (its stdin is closed only now).
        let _ = serial_reader.join();
        let _ = errors_reader.join();
        let script_stopped = typist.and_then(|typist| match typist.join() {
            Ok((stopped, _stdin)) => stopped,
            Err(_) => Some("the typist panicked".into()),
        });
        Ok(RunOutcome {
            status: status?,
            serial: String::from_utf8_lossy(&serial.bytes()).into_owned(),
            serial_times: serial.line_times(),
            stderr: String::from_utf8_lossy(&errors.bytes()).into_owned(),
            wall,
            accel,
            command: command_line,
            trace: options.trace.clone(),
            symbolized: Vec::new(),
            script_stopped,
        })
    });
    if let Some(terminal) = terminal {
        terminal.restore();
    }
    outcome
}

/// A terminal's settings (`stty -g` of our stdin), to put back after an
/// interactive run.
struct TerminalSettings(String);

impl TerminalSettings {
    fn save() -> Option<TerminalSettings> {
        let output = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let settings = String::from_utf8(output.stdout).ok()?;
        (output.status.success() && !settings.trim().is_empty()).then(|| TerminalSettings(settings.trim().into()))
    }

    fn restore(self) {
        let _ = Command::new("stty")
            .arg(&self.0)
            .stdin(Stdio::inherit())
            .stderr(Stdio::null())
            .status();
    }
}

/// What QEMU wrote to one of its outputs so far, shared between the thread
/// that reads it and the typist that waits for text in it.
#[derive(Default)]
struct Transcript {
    /// The bytes, and whether the output has ended.
    state: Mutex<(Vec<u8>, bool)>,
    grew: Condvar,
    /// When each line ended (its newline arrived, or the output ended).
    line_times: Mutex<Vec<Duration>>,
}

impl Transcript {
    /// Appends `bytes`, which arrived at `now`.
    fn append(&self, bytes: &[u8], now: Duration) {
        let newlines = bytes.iter().filter(|&&byte| byte == b'\n').count();
        lock(&self.line_times).extend(std::iter::repeat_n(now, newlines));
        lock(&self.state).0.extend_from_slice(bytes);
        self.grew.notify_all();
    }

    /// The output ended at `now` (a last line without its newline ends then).
    fn close(&self, now: Duration) {
        let mut state = lock(&self.state);
        if state.0.last().is_some_and(|&byte| byte != b'\n') {
            lock(&self.line_times).push(now);
        }
        state.1 = true;
        self.grew.notify_all();
    }

    fn bytes(&self) -> Vec<u8> {
        lock(&self.state).0.clone()
    }

    /// When each line ended, in order.
    fn line_times(&self) -> Vec<Duration> {
        lock(&self.line_times).clone()
    }

    /// Waits until `needle` appears at or after `from`; returns the offset
    /// just past it, or `None` if the output ends first.
    fn wait_for(&self, needle: &[u8], from: usize) -> Option<usize> {
        let mut state = lock(&self.state);
        loop {
            let (bytes, closed) = &*state;
            if let Some(at) = find(&bytes[from.min(bytes.len())..], needle) {
                return Some(from + at + needle.len());
            }
            if *closed {
                return None;
            }
            state = self.grew.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Types `steps` into QEMU's `stdin`, waiting for each expected text in the
/// `serial` output. Returns where it stopped if it could not finish, and
/// the pipe, which stays open until QEMU has exited (a closed stdin is an
/// event QEMU's character device would see).
fn type_script(mut stdin: ChildStdin, steps: &[Step], serial: &Transcript) -> (Option<String>, ChildStdin) {
    let mut position = 0;
    for (index, step) in steps.iter().enumerate() {
        let stopped = |why: String| Some(format!("typing script step {} of {}: {why}", index + 1, steps.len()));
        match step {
            Step::Expect(text) => match serial.wait_for(text.as_bytes(), position) {
                Some(end) => position = end,
                None => return (stopped(format!("the output ended before {text:?} appeared")), stdin),
            },
            Step::Send(_) | Step::SendFrom(_) => {
                let bytes = match step {
                    Step::SendFrom(make) => make(&String::from_utf8_lossy(&serial.bytes())),
                    Step::Send(bytes) => bytes.clone(),
                    Step::Expect(_) => unreachable!(),
                };
                if let Err(error) = stdin.write_all(&bytes).and_then(|()| stdin.flush()) {
                    return (stopped(format!("cannot type {} bytes: {error}", bytes.len())), stdin);
                }
            }
        }
    }
    (None, stdin)
}

/// A fresh path for QEMU's monitor socket, short enough for a Unix socket
/// (about 100 bytes at most).
fn monitor_socket() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("xtask-{}-{number}.monitor", std::process::id());
    let path = std::env::temp_dir().join(&name);
    if path.as_os_str().len() < 100 {
        path
    } else {
        Path::new("/tmp").join(name)
    }
}

/// Ends a run that timed out: sends `nmi` to QEMU's monitor at `monitor`
/// (the kernel then prints every thread's state and exits with
/// `EXIT_DUMPED`), waits up to `grace` for QEMU to exit, then kills it.
/// Returns QEMU's exit status when it exited by itself in time; `None`
/// when it had to be killed (no monitor, or a guest that ignored the NMI).
pub fn stop_after_timeout(child: &mut Child, monitor: Option<&Path>, grace: Duration) -> Option<ExitStatus> {
    if let Some(path) = monitor
        && let Ok(mut stream) = UnixStream::connect(path)
        && stream.write_all(b"nmi\n").and_then(|()| stream.flush()).is_ok()
    {
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => break,
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[derive(Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

/// Reads `input` to its end into `transcript`, copying each piece to
/// `sink` as it arrives (not waiting for a line's end: a prompt shows, and
/// so does the echo of what is typed), and noting when each line arrived
/// (since `start`).
fn pump(mut input: impl Read, sink: Option<Sink>, transcript: &Transcript, start: Instant) {
    let mut buffer = [0u8; 4096];
    loop {
        match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                transcript.append(&buffer[..n], start.elapsed());
                // A closed stdout (e.g. `| head`) must not stop the capture.
                let _ = match sink {
                    Some(Sink::Stdout) => write_flush(&mut std::io::stdout().lock(), &buffer[..n]),
                    Some(Sink::Stderr) => write_flush(&mut std::io::stderr().lock(), &buffer[..n]),
                    None => Ok(()),
                };
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    transcript.close(start.elapsed());
}

fn write_flush(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// The command as one could paste it into a shell.
fn shell_words(program: &Path, args: &[OsString]) -> String {
    let mut line = program.display().to_string();
    for arg in args {
        let arg = arg.to_string_lossy();
        line.push(' ');
        if !arg.is_empty()
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:+".contains(&b))
        {
            line.push_str(&arg);
        } else {
            line.push('\'');
            line.push_str(&arg.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}

/// Why `/dev/kvm` cannot be used, if it cannot.
pub fn kvm_device_unusable() -> Option<String> {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => None,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some("/dev/kvm does not exist".into()),
        Err(error) => Some(format!("/dev/kvm is not usable: {error}")),
    }
}

/// The result of a KVM probe.
#[derive(Clone, Debug)]
pub struct KvmProbe {
    /// KVM ran a ring-3 system call and the guest exited with 0.
    pub works: bool,
    /// Why, in a few words.
    pub reason: String,
    pub wall: Duration,
}

/// Boots `image` under KVM with `probe` on the kernel command line, for at
/// most [`PROBE_TIMEOUT`]. KVM works only if the guest exits with 0 and
/// prints [`PROBE_LINE`]. Without a usable `/dev/kvm`, no boot is tried.
pub fn probe_kvm(image: &Image, machine: Machine) -> Result<KvmProbe, Error> {
    let start = Instant::now();
    if let Some(reason) = kvm_device_unusable() {
        return Ok(KvmProbe {
            works: false,
            reason,
            wall: start.elapsed(),
        });
    }
    let qemu = ensure_qemu()?;
    let options = RunOptions {
        accel: Accel::Kvm,
        machine,
        timeout: Some(PROBE_TIMEOUT),
        append: "probe".into(),
        ..RunOptions::default()
    };
    let outcome = boot(&qemu, image, &options, Accel::Kvm, false)?;
    let saw_line = outcome.serial.lines().any(|line| line.trim_end() == PROBE_LINE);
    let works = outcome.status == GuestStatus::Exited(0) && saw_line;
    let reason = match outcome.status {
        _ if works => "a ring-3 program made a system call under KVM".to_string(),
        GuestStatus::Exited(0) => "the guest never printed the probe line".to_string(),
        GuestStatus::NoStatus { .. } => {
            let last = outcome.stderr.lines().rev().find(|line| !line.trim().is_empty());
            match last {
                Some(last) => format!("{} — {}", outcome.status, last.trim()),
                None => outcome.status.to_string(),
            }
        }
        status => status.to_string(),
    };
    Ok(KvmProbe {
        works,
        reason,
        wall: start.elapsed(),
    })
}

static PROBE: Mutex<()> = Mutex::new(());

/// Where the verdict of the KVM probe is kept: `target/kvm-probe`.
pub fn probe_cache() -> PathBuf {
    crate::target_dir().join("kvm-probe")
}

/// What a KVM probe's verdict depends on: this boot of the host (its boot
/// id), the state of `/dev/kvm`, the QEMU binary (path, size, modification
/// time) and the machine type. The same key means the same verdict, so the
/// probe runs once per machine, not once per image.
pub fn probe_key(qemu: &Path, machine: Machine) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let device = kvm_device_unusable().unwrap_or_else(|| "usable".into());
    let binary = std::fs::metadata(qemu)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            format!("{} bytes, modified {modified}", m.len())
        })
        .unwrap_or_default();
    format!(
        "boot {}; /dev/kvm {device}; {} ({binary}); machine {}",
        boot.trim(),
        qemu.display(),
        machine.name()
    )
}

/// A verdict kept in `cache` for `key`.
pub fn cached_verdict(cache: &Path, key: &str) -> Option<Accel> {
    let text = std::fs::read_to_string(cache).ok()?;
    let mut lines = text.lines();
    if lines.next()?.strip_prefix("key=")? != key {
        return None;
    }
    match lines.next()?.strip_prefix("verdict=")? {
        "kvm" => Some(Accel::Kvm),
        "tcg" => Some(Accel::Tcg),
        _ => None,
    }
}

/// Keeps `verdict` (and why) for `key` in `cache`.
pub fn keep_verdict(cache: &Path, key: &str, verdict: Accel, reason: &str) {
    if let Some(dir) = cache.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = format!("key={key}\nverdict={}\nreason={reason}\n", verdict.name());
    let _ = std::fs::write(cache, text);
}

/// Resolves [`Accel::Auto`]: TCG when `--icount` asks for it, else the
/// verdict kept for this machine ([`probe_key`]), else a new probe, whose
/// verdict is said once (with `echo`) and kept.
pub fn resolve_accel(image: &Image, options: &RunOptions) -> Result<Accel, Error> {
    if options.accel != Accel::Auto {
        return Ok(options.accel);
    }
    if options.icount {
        return Ok(Accel::Tcg);
    }
    let _guard = lock(&PROBE);
    let cache = probe_cache();
    let key = probe_key(&ensure_qemu()?, options.machine);
    if let Some(verdict) = cached_verdict(&cache, &key) {
        return Ok(verdict);
    }
    let probe = probe_kvm(image, options.machine)?;
    let verdict = if probe.works { Accel::Kvm } else { Accel::Tcg };
    if options.echo {
        if probe.works {
            eprintln!("xtask: KVM works here ({}); --accel auto uses it", probe.reason);
        } else {
            eprintln!(
                "xtask: KVM does not work here ({}); --accel auto uses TCG",
                probe.reason
            );
        }
        eprintln!(
            "xtask: (kept in {} until the host reboots or QEMU or /dev/kvm changes)",
            cache.display()
        );
    }
    keep_verdict(&cache, &key, verdict, &probe.reason);
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn odd_statuses_carry_the_guest_value() {
        assert_eq!(GuestStatus::from_qemu_exit(Some(1), None), GuestStatus::Exited(0));
        assert_eq!(GuestStatus::from_qemu_exit(Some(35), None), GuestStatus::Exited(0x11));
        assert_eq!(GuestStatus::from_qemu_exit(Some(33), None), GuestStatus::Exited(0x10));
        assert_eq!(GuestStatus::from_qemu_exit(Some(255), None), GuestStatus::Exited(127));
    }

    #[test]
    fn even_statuses_and_signals_carry_none() {
        assert_eq!(
            GuestStatus::from_qemu_exit(Some(0), None),
            GuestStatus::NoStatus {
                code: Some(0),
                signal: None
            }
        );
        assert_eq!(
            GuestStatus::from_qemu_exit(Some(2), None),
            GuestStatus::NoStatus {
                code: Some(2),
                signal: None
            }
        );
        assert_eq!(
            GuestStatus::from_qemu_exit(None, Some(6)),
            GuestStatus::NoStatus {
                code: None,
                signal: Some(6)
            }
        );
    }

    #[test]
    fn exit_codes_of_cargo_xtask_run() {
        assert_eq!(GuestStatus::Exited(0).exit_code(), 0);
        assert_eq!(GuestStatus::Exited(abi::machine::EXIT_KERNEL_FAULT).exit_code(), 17);
        assert_eq!(
            GuestStatus::NoStatus {
                code: Some(0),
                signal: None
            }
            .exit_code(),
            126
        );
        let timed_out = |after_nmi| GuestStatus::TimedOut {
            limit: Duration::from_secs(3),
            after_nmi,
        };
        for after_nmi in [None, Some(abi::machine::EXIT_DUMPED), Some(0x11)] {
            assert_eq!(timed_out(after_nmi).exit_code(), 124);
            assert_eq!(timed_out(after_nmi).exit_value(), None);
        }
        assert_eq!(timed_out(None).to_string(), "timed out after 3 s");
        assert_eq!(
            timed_out(Some(0x14)).to_string(),
            "timed out after 3 s; the kernel printed every thread's state above"
        );
        assert!(timed_out(Some(0x14)).dumped() && !timed_out(Some(0x11)).dumped());
        assert_eq!(
            timed_out(Some(0x11)).to_string(),
            "timed out after 3 s; after an NMI the guest exited with 17 (unexpected exception in the kernel)"
        );
        assert_eq!(
            GuestStatus::Exited(0x11).to_string(),
            "guest exit value 17 (0x11): unexpected exception in the kernel"
        );
        assert_eq!(
            GuestStatus::NoStatus {
                code: Some(0),
                signal: None
            }
            .to_string(),
            "QEMU stopped without a guest exit status (QEMU exit status 0)"
        );
    }

    fn image() -> Image {
        Image {
            name: "t".into(),
            dir: "/img".into(),
            kernel: "/img/kernel".into(),
            initrd: "/img/initrd.cpio".into(),
            manifest_text: "manifest 1\n".into(),
            cmdline: "log=debug".into(),
            cpus: 1,
            programs: Default::default(),
        }
    }

    /// QEMU's arguments for `options` under TCG, as strings.
    fn tcg_args(options: &RunOptions) -> Vec<String> {
        qemu_args(&image(), options, Accel::Tcg, None)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn command_line() {
        let options = RunOptions {
            append: "fault=pf".into(),
            icount: true,
            ..RunOptions::default()
        };
        let args = tcg_args(&options);
        let expected = "-M microvm -cpu max -m 256M -smp 1 -display none -serial stdio \
                        -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 -monitor none -kernel /img/kernel \
                        -initrd /img/initrd.cpio -append log=debug_fault=pf -accel tcg -icount shift=0,align=off,sleep=off";
        let expected: Vec<String> = expected.split(' ').map(|a| a.replace('_', " ")).collect();
        assert_eq!(args, expected);
        let gdb = RunOptions {
            machine: Machine::Q35,
            gdb: true,
            ..RunOptions::default()
        };
        let args = qemu_args(&image(), &gdb, Accel::Kvm, Some(Path::new("/tmp/a,b.monitor")));
        let at = args.iter().position(|a| a == "-monitor").unwrap();
        assert_eq!(args[at + 1], "unix:/tmp/a,,b.monitor,server=on,wait=off");
        assert_eq!(args[1], "q35");
        assert!(args.ends_with(&["-accel".into(), "kvm".into(), "-s".into(), "-S".into()]));
        assert_eq!(
            kernel_cmdline(
                &Image {
                    cmdline: String::new(),
                    ..image()
                },
                " x "
            ),
            "x"
        );
    }

    #[test]
    fn a_terminal_run_takes_ctrl_c_to_the_guest() {
        let options = RunOptions {
            input: Input::Terminal,
            ..RunOptions::default()
        };
        let args = tcg_args(&options);
        let at = args.iter().position(|a| a == "-chardev").expect("a chardev");
        assert_eq!(args[at + 1], "stdio,id=serial0,mux=on,signal=off");
        assert_eq!(args[at + 2..at + 6], ["-serial", "chardev:serial0", "-echr", "29"]);
        assert!(!args.windows(2).any(|w| w == ["-serial", "stdio"]));
        // A script types through a pipe into the plain stdio device.
        let scripted = RunOptions {
            input: Input::Script(vec![Step::Send(b"x".to_vec())]),
            ..RunOptions::default()
        };
        let args = qemu_args(&image(), &scripted, Accel::Tcg, None);
        assert!(args.windows(2).any(|w| w == ["-serial", "stdio"]));
    }

    #[test]
    fn a_transcript_notes_when_each_line_ended() {
        let at = Duration::from_millis;
        let transcript = Transcript::default();
        transcript.append(b"one\ntw", at(1));
        transcript.append(b"o\nthree\nfo", at(2));
        transcript.close(at(3));
        assert_eq!(transcript.line_times(), [at(1), at(2), at(2), at(3)]);
        let ended = Transcript::default();
        ended.append(b"one\n", at(1));
        ended.close(at(2));
        assert_eq!(ended.line_times(), [at(1)]);
    }

    /// Runs `script` in `sh` with `steps` typed into it; returns what it
    /// printed and where the typing stopped.
    fn typed(script: &str, steps: &[Step]) -> (String, Option<String>) {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        let transcript = Transcript::default();
        let stopped = std::thread::scope(|scope| {
            let reader = scope.spawn(|| pump(stdout, None, &transcript, Instant::now()));
            let typist = scope.spawn(|| type_script(stdin, steps, &transcript));
            child.wait().unwrap();
            reader.join().unwrap();
            typist.join().unwrap().0
        });
        (String::from_utf8(transcript.bytes()).unwrap(), stopped)
    }

    #[test]
    fn a_script_types_each_line_after_its_prompt() {
        // Each `read` would get nothing if its line came before its prompt
        // was printed and the earlier `read` took everything: the script
        // waits for every prompt, and a prompt has no newline.
        let script = r#"for n in 1 2 3; do printf "prompt$n> "; read line; echo "got=$line"; done"#;
        let mut steps = Vec::new();
        for n in 1..=2 {
            steps.push(Step::Expect(format!("prompt{n}> ")));
            steps.push(Step::Send(format!("line {n}\n").into_bytes()));
        }
        // The last line is made from what was printed so far.
        steps.push(Step::Expect("prompt3> ".into()));
        steps.push(Step::SendFrom(|output| {
            format!("line {}\n", output.matches("got=").count() + 1).into_bytes()
        }));
        let (output, stopped) = typed(script, &steps);
        assert_eq!(stopped, None);
        assert_eq!(
            output,
            "prompt1> got=line 1\nprompt2> got=line 2\nprompt3> got=line 3\n"
        );
        // A text that never comes stops the script when the output ends.
        let (_, stopped) = typed(
            "printf 'a> '; read line",
            &[
                Step::Expect("a> ".into()),
                Step::Send(b"\n".to_vec()),
                Step::Expect("b> ".into()),
                Step::Send(b"never\n".to_vec()),
            ],
        );
        assert_eq!(
            stopped.as_deref(),
            Some("typing script step 3 of 4: the output ended before \"b> \" appeared")
        );
    }

    #[test]
    fn tracing_adds_the_debug_console_and_the_flag() {
        let options = RunOptions {
            append: "log=info".into(),
            trace: Some("/tmp/a,b/t.bin".into()),
            ..RunOptions::default()
        };
        let args = tcg_args(&options);
        let at = args.iter().position(|a| a == "-chardev").expect("a chardev");
        assert_eq!(args[at + 1], "file,id=trace,path=/tmp/a,,b/t.bin");
        assert_eq!(args[at + 2], "-device");
        assert_eq!(args[at + 3], "isa-debugcon,iobase=0xe9,chardev=trace");
        let append = args.iter().position(|a| a == "-append").unwrap();
        assert_eq!(args[append + 1], "log=debug log=info trace");
    }

    /// A stand-in monitor on `socket`: accepts one connection and returns
    /// what it received; `on_nmi` runs when the line `nmi` arrives.
    fn monitor(socket: &Path, on_nmi: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<String> {
        let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            if line == "nmi\n" {
                on_nmi();
            }
            line
        })
    }

    #[test]
    fn a_timed_out_guest_gets_an_nmi_and_the_grace_period() {
        let dir = std::env::temp_dir().join(format!("xtask-nmi-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();

        // A guest that ends when the NMI comes: its exit status is kept.
        let socket = dir.join("answers.monitor");
        let flag = dir.join("nmi-arrived");
        let mut guest = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while [ ! -e {} ]; do sleep 0.01; done; exit 41",
                flag.display()
            ))
            .spawn()
            .unwrap();
        let flag_for_monitor = flag.clone();
        let received = monitor(&socket, move || std::fs::write(flag_for_monitor, "").unwrap());
        let status = stop_after_timeout(&mut guest, Some(&socket), Duration::from_secs(20));
        assert_eq!(received.join().unwrap(), "nmi\n");
        assert_eq!(status.and_then(|s| s.code()), Some(41));

        // A guest that ignores it is killed once the grace period is over.
        let socket = dir.join("ignores.monitor");
        let mut guest = Command::new("sleep").arg("60").spawn().unwrap();
        let received = monitor(&socket, || {});
        assert_eq!(
            stop_after_timeout(&mut guest, Some(&socket), Duration::from_millis(50)),
            None
        );
        assert_eq!(received.join().unwrap(), "nmi\n");
        assert!(guest.try_wait().unwrap().is_some(), "the guest was killed and reaped");

        // Without a monitor (or with nothing listening), it is killed at once.
        let mut guest = Command::new("sleep").arg("60").spawn().unwrap();
        assert_eq!(
            stop_after_timeout(&mut guest, Some(&dir.join("nobody")), DUMP_GRACE),
            None
        );
        assert!(guest.try_wait().unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_probe_verdict_is_kept_per_machine() {
        let cache = std::env::temp_dir().join(format!("xtask-kvm-probe-{}", std::process::id()));
        let _ = std::fs::remove_file(&cache);
        let qemu = std::env::current_exe().unwrap();
        let key = probe_key(&qemu, Machine::Microvm);
        assert_eq!(key, probe_key(&qemu, Machine::Microvm), "the key is stable");
        assert_ne!(key, probe_key(&qemu, Machine::Q35));
        assert_ne!(key, probe_key(Path::new("/no/such/qemu"), Machine::Microvm));
        assert_eq!(cached_verdict(&cache, &key), None);
        keep_verdict(&cache, &key, Accel::Tcg, "the guest timed out");
        assert_eq!(cached_verdict(&cache, &key), Some(Accel::Tcg));
        assert_eq!(cached_verdict(&cache, &probe_key(&qemu, Machine::Q35)), None);
        keep_verdict(&cache, &key, Accel::Kvm, "fine");
        assert_eq!(cached_verdict(&cache, &key), Some(Accel::Kvm));
        std::fs::remove_file(&cache).unwrap();
    }

    #[test]
    fn quoting_for_display() {
        let line = shell_words(Path::new("qemu"), &["-append".into(), "a b".into(), "it's".into()]);
        assert_eq!(line, r"qemu -append 'a b' 'it'\''s'");
    }
}
