//! shell: a minimal interactive shell on the console.
//!
//! It reads a line at a time from the console (`libsys::io::Stdin`) and
//! runs boot-image programs its manifest entry lists in `spawns`: in the
//! foreground (the shell waits; Ctrl-C kills the program) or, with a
//! trailing `&`, in the background (`wait` collects them, `kill PID` ends
//! one). One notification carries everything the shell waits for: the
//! console's "a line is ready" and "Ctrl-C", and a child's end
//! (`Child::watch`), so "the program ended, or Ctrl-C" is one wait.
//!
//! What it reports, it prints as `key=value` lines (`libsys::results`,
//! which tests read back with `abi::results`), readable by a person too:
//! `start.5=sleeper background`, `end.5=sleeper exited 0` (how the job
//! ended and the detail: the exit status, the killer's pid, ...),
//! `wait.ended=1`, `error.run=ENOTFOUND ...`; `ps` prints a table under a
//! header line. `help` lists the commands.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write;
use libsys::abi::console::{INTERRUPT, MAX_LINE};
use libsys::abi::manifest::{MAX_ARGS, MAX_NAME};
use libsys::abi::process::{Ending, Info, State};
use libsys::io::{ReadError, Stdin};
use libsys::results::report;
use libsys::{Child, Error, print, println};

libsys::entry!(main);

/// Notification bit: the foreground job ended.
const FOREGROUND: u64 = 1 << 8;
/// Notification bit: a background job ended (watched while `wait` waits).
const BACKGROUND: u64 = 1 << 9;
/// Background jobs at once.
const MAX_JOBS: usize = 8;
/// Processes `ps` lists (the kernel's table is no larger).
const MAX_PROCESSES: usize = 32;

const HELP: &str = "\
commands:
  help              this list
  run NAME [ARGS]   run a program of the boot image and wait for it (Ctrl-C kills it)
  run NAME [ARGS] & run it in the background
  jobs              the background jobs
  wait              wait for every background job (Ctrl-C stops waiting)
  kill PID          end a background job
  ps                every process: pid, name, state, priority, CPU ticks, handles, frames
  stats             the kernel's resource counters
  uptime            time since boot
  echo WORDS        print the words
  exit              end the shell (background jobs are killed)";

/// A program name, kept by value.
#[derive(Clone, Copy)]
struct Name {
    bytes: [u8; MAX_NAME],
    len: usize,
}

impl Name {
    fn new(name: &str) -> Name {
        let len = name.len().min(MAX_NAME);
        let mut bytes = [0; MAX_NAME];
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        Name { bytes, len }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?")
    }
}

/// A background job.
struct Job {
    child: Child,
    name: Name,
}

/// The argument string of `run`: the words after the name, one space apart.
struct Args {
    bytes: [u8; MAX_ARGS],
    len: usize,
}

impl Args {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for Args {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        if self.len + text.len() > MAX_ARGS {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text.as_bytes());
        self.len += text.len();
        Ok(())
    }
}

/// What the shell should do after a command.
#[derive(PartialEq, Eq)]
enum Next {
    Prompt,
    Exit,
}

struct Shell {
    stdin: Stdin,
    jobs: [Option<Job>; MAX_JOBS],
}

fn report_end(pid: u32, name: &str, result: libsys::Result<(Ending, u64)>) {
    match result {
        Ok((ending, detail)) => {
            let key = format_args!("end.{pid}");
            // A status is signed, a fault's vector and error code read
            // best in hex; the other details are plain numbers.
            match ending {
                Ending::Exited => report(key, format_args!("{name} {ending} {}", detail as i64)),
                Ending::Faulted => report(key, format_args!("{name} {ending} {detail:#x}")),
                _ => report(key, format_args!("{name} {ending} {detail}")),
            }
        }
        Err(error) => report(
            format_args!("error.job.{pid}"),
            format_args!("{name}: {}", error.name()),
        ),
    }
}

impl Shell {
    fn run(&mut self, words: &[&str]) -> Next {
        let Some((&name, mut rest)) = words.split_first() else {
            report("error.run", "which program? (run NAME [ARGS] [&])");
            return Next::Prompt;
        };
        // `&` alone or at the end of the last word.
        let mut background = false;
        let mut last = "";
        if let Some((&word, init)) = rest.split_last()
            && let Some(stripped) = word.strip_suffix('&')
        {
            background = true;
            rest = init;
            last = stripped;
        }
        let (name, background) = match name.strip_suffix('&') {
            Some(stripped) if words.len() == 1 => (stripped, true),
            _ => (name, background),
        };
        let mut args = Args {
            bytes: [0; MAX_ARGS],
            len: 0,
        };
        for word in rest.iter().copied().chain((!last.is_empty()).then_some(last)) {
            let separator = if args.len == 0 { "" } else { " " };
            if write!(args, "{separator}{word}").is_err() {
                report(
                    "error.run",
                    format_args!("the arguments are longer than {MAX_ARGS} bytes"),
                );
                return Next::Prompt;
            }
        }
        let free = self.jobs.iter().position(Option::is_none);
        if background && free.is_none() {
            report(
                "error.run",
                format_args!("{MAX_JOBS} background jobs already (wait or kill first)"),
            );
            return Next::Prompt;
        }
        let child = match libsys::spawn_with_args(name, args.as_str()) {
            Ok(child) => child,
            Err(error) => {
                let why = match error {
                    Error::NOTFOUND => "no such program in the boot image",
                    Error::DENIED => "not among the programs the shell may start (its manifest's spawns)",
                    other => other.description(),
                };
                report("error.run", format_args!("{} {name}: {why}", error.name()));
                return Next::Prompt;
            }
        };
        let mode = if background { "background" } else { "foreground" };
        report(format_args!("start.{}", child.pid()), format_args!("{name} {mode}"));
        match free {
            Some(slot) if background => {
                self.jobs[slot] = Some(Job {
                    child,
                    name: Name::new(name),
                });
            }
            _ => self.foreground(child, name),
        }
        Next::Prompt
    }

    /// Waits for `child` to end; Ctrl-C kills it. (A program that holds
    /// the input itself gets the Ctrl-C instead, and decides.)
    fn foreground(&mut self, child: Child, name: &str) {
        let watched = self
            .stdin
            .notification()
            .and_then(|notification| child.watch(notification, FOREGROUND).map(|()| notification));
        match watched {
            Ok(notification) => loop {
                match notification.wait() {
                    Ok(bits) => {
                        if bits & INTERRUPT != 0 {
                            let _ = child.kill();
                        }
                        if bits & FOREGROUND != 0 {
                            break;
                        }
                        // A line typed meanwhile waits in the console for
                        // the next prompt; a background end, for `wait`.
                    }
                    Err(error) => {
                        report("error.run", format_args!("{} waiting for {name}", error.name()));
                        break;
                    }
                }
            },
            Err(error) => report("error.run", format_args!("{} watching {name}", error.name())),
        }
        report_end(child.pid(), name, child.wait());
        // If the program took the input, take it back.
        if let Err(error) = self.stdin.attach() {
            report("error.input", error.name());
        }
    }

    fn jobs(&self) {
        for job in self.jobs.iter().flatten() {
            let state = match job.child.try_wait() {
                Err(Error::TIMEDOUT) => "running",
                _ => "ended",
            };
            report(
                format_args!("job.{}", job.child.pid()),
                format_args!("{} {state}", job.name.as_str()),
            );
        }
    }

    /// Reports and forgets the background jobs that have ended; returns how
    /// many.
    fn reap(&mut self) -> usize {
        let mut ended = 0;
        for slot in &mut self.jobs {
            let Some(job) = slot else { continue };
            match job.child.try_wait() {
                Err(Error::TIMEDOUT) => {}
                result => {
                    report_end(job.child.pid(), job.name.as_str(), result);
                    *slot = None;
                    ended += 1;
                }
            }
        }
        ended
    }

    fn wait(&mut self) {
        let notification = match self.stdin.notification() {
            Ok(notification) => notification,
            Err(error) => {
                report("error.wait", error.name());
                return;
            }
        };
        for job in self.jobs.iter().flatten() {
            let _ = job.child.watch(notification, BACKGROUND);
        }
        let mut ended = 0;
        loop {
            ended += self.reap();
            let left = self.jobs.iter().flatten().count();
            if left == 0 {
                break;
            }
            let notification = match self.stdin.notification() {
                Ok(notification) => notification,
                Err(_) => break,
            };
            match notification.wait() {
                Ok(bits) if bits & INTERRUPT != 0 => {
                    report("wait.left", left);
                    break;
                }
                Ok(_) => {}
                Err(error) => {
                    report("error.wait", error.name());
                    break;
                }
            }
        }
        report("wait.ended", ended);
    }

    fn kill(&mut self, words: &[&str]) {
        let Some(pid) = words.first().and_then(|word| word.parse::<u32>().ok()) else {
            report("error.kill", "which pid? (kill PID)");
            return;
        };
        let Some(slot) = self
            .jobs
            .iter_mut()
            .find(|job| job.as_ref().is_some_and(|j| j.child.pid() == pid))
        else {
            report("error.kill", format_args!("no background job has pid {pid} (see jobs)"));
            return;
        };
        let Some(job) = slot.take() else { return };
        match job.child.kill() {
            // It ended by itself first: its own ending is reported.
            Ok(()) | Err(Error::PEERGONE) => report_end(pid, job.name.as_str(), job.child.wait()),
            Err(error) => {
                report("error.kill", format_args!("{} {pid}", error.name()));
                *slot = Some(job);
            }
        }
    }

    /// Kills every background job still running, reporting each.
    fn kill_all(&mut self) {
        for slot in &mut self.jobs {
            if let Some(job) = slot.take() {
                let _ = job.child.kill();
                report_end(job.child.pid(), job.name.as_str(), job.child.wait());
            }
        }
    }

    fn execute(&mut self, line: &str) -> Next {
        let mut words = [""; 24];
        let mut count = 0;
        for word in line.split_ascii_whitespace() {
            if count == words.len() {
                report("error.command", format_args!("more than {} words", words.len()));
                return Next::Prompt;
            }
            words[count] = word;
            count += 1;
        }
        let Some((&command, rest)) = words[..count].split_first() else {
            return Next::Prompt;
        };
        match command {
            "help" => println!("{HELP}"),
            "run" => return self.run(rest),
            "jobs" => self.jobs(),
            "wait" => self.wait(),
            "kill" => self.kill(rest),
            "ps" => ps(),
            "stats" => stats(),
            "uptime" => uptime(),
            "echo" => echo(rest),
            "exit" => {
                self.kill_all();
                return Next::Exit;
            }
            _ => report(
                "error.command",
                format_args!("unknown: {command} (help lists the commands)"),
            ),
        }
        Next::Prompt
    }
}

fn ps() {
    let blank = Info::from_bytes(&[0; Info::SIZE]).expect("a record's worth of bytes");
    let mut records = [blank; MAX_PROCESSES];
    let count = match libsys::process_info(&mut records) {
        Ok(count) => count,
        Err(error) => {
            report("error.ps", error.name());
            return;
        }
    };
    println!("  PID NAME             STATE    PRI   TICKS HANDLES  FRAMES");
    // The records filled (libsys copies up to 16 in one call).
    let filled = records.iter().take(count).take_while(|info| info.pid != 0);
    let mut listed = 0;
    for info in filled {
        listed += 1;
        let state = info.state().map_or("?", State::name);
        println!(
            "{:>5} {:<16} {:<8} {:>3} {:>7} {:>7} {:>7}",
            info.pid,
            info.name(),
            state,
            info.priority,
            info.cpu_ticks,
            info.handles,
            info.frames
        );
    }
    if listed < count {
        println!("({} more not shown)", count - listed);
    }
}

fn stats() {
    match libsys::stats() {
        Ok(s) => {
            for (name, value) in [
                ("free_frames", s.free_frames),
                ("total_frames", s.total_frames),
                ("available_frames", s.available_frames()),
                ("processes", s.processes),
                ("process_capacity", s.process_capacity),
                ("threads", s.threads),
                ("endpoints", s.endpoints),
                ("handles", s.handles),
                ("ticks", s.ticks),
                ("syscalls", s.syscalls),
                ("spawned", s.spawned),
            ] {
                report(format_args!("stats.{name}"), value);
            }
        }
        Err(error) => report("error.stats", error.name()),
    }
}

fn uptime() {
    let ticks = libsys::time::ticks();
    let hz = libsys::time::tick_hz().max(1);
    let hundredths = ticks * 100 / hz;
    report("uptime.ticks", ticks);
    report(
        "uptime.seconds",
        format_args!("{}.{:02}", hundredths / 100, hundredths % 100),
    );
}

fn echo(words: &[&str]) {
    let mut out = libsys::io::Writer::new(1);
    for (index, word) in words.iter().enumerate() {
        let _ = write!(out, "{}{word}", if index == 0 { "" } else { " " });
    }
    let _ = writeln!(out);
}

fn main() -> i32 {
    let mut shell = Shell {
        stdin: Stdin::new(),
        jobs: [const { None }; MAX_JOBS],
    };
    if let Err(error) = shell.stdin.attach() {
        println!(
            "error: no console input ({}): give the console irqs = [4]",
            error.name()
        );
        return 1;
    }
    println!("shell: help lists the commands");
    let mut line = [0u8; MAX_LINE];
    loop {
        print!("$ ");
        let len = match shell.stdin.read_line(&mut line) {
            Ok(len) => len,
            // The line being typed is gone; a new prompt.
            Err(ReadError::Interrupted) => continue,
            Err(ReadError::Sys(Error::NORIGHTS)) => {
                // Another process took the input and is gone without it
                // coming back: take it again.
                if let Err(error) = shell.stdin.attach() {
                    report("error.input", error.name());
                    return 1;
                }
                continue;
            }
            Err(ReadError::Sys(error)) => {
                report("error.input", error.name());
                return 1;
            }
        };
        let text = core::str::from_utf8(&line[..len]).unwrap_or("");
        if shell.execute(text) == Next::Exit {
            return 0;
        }
    }
}
