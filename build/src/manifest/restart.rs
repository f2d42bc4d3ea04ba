//! `restart`: the programs the supervisor server (`servers/supervisor`)
//! starts and restarts. A user writes `restart = "on-fault"` (or
//! `"always"`, with an optional back-off) on a program; this module checks
//! those fields, makes each such program `start = "spawn"`, and completes
//! the supervisor's entry, or adds one: its `spawns` name the programs and
//! its arguments give their policies (`abi::restart::Entry`).

use super::{Context, Endpoint, Expect, FileToml, HandleSpec, Program, ProgramToml, Source, Start};
use crate::Error;
use abi::Rights;
use abi::manifest::{MAX_ARGS, MAX_SPAWNS, PRIORITIES};
use abi::restart::{DEFAULT_BACKOFF_MAX_MS, Entry, Policy, Restart};
use toml::Spanned;

/// The workspace package of the supervisor server (its binary has the
/// same name).
pub const SUPERVISOR_CRATE: &str = "supervisor";
/// The name of the supervisor's entry when the build tool adds it.
pub const SUPERVISOR_NAME: &str = "supervisor";

/// A duration (`"10 ms"`, `"2 s"`, `"0"`) in milliseconds: `None` unless it
/// is a whole number of milliseconds or seconds that fits 32 bits.
pub fn parse_duration_ms(text: &str) -> Option<u32> {
    let text = text.trim();
    let at = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = (&text[..at], text[at..].trim());
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1000,
        "" if number == 0 => 1,
        _ => return None,
    };
    u32::try_from(number.checked_mul(scale)?).ok()
}

/// A program's `restart` and back-off fields, checked: `None` without
/// `restart` (and then none of the others may be there).
pub(super) fn parse(cx: &Context<'_>, name: &str, program: &ProgramToml) -> Result<Option<Restart>, Error> {
    let times = [
        ("restart_backoff", &program.restart_backoff),
        ("restart_backoff_max", &program.restart_backoff_max),
        ("restart_stable", &program.restart_stable),
    ];
    let Some(restart) = &program.restart else {
        if let Some((key, value)) = times.iter().find_map(|(key, value)| Some((key, value.as_ref()?))) {
            return Err(cx.error(value, format!("program `{name}`: {key} goes with restart")));
        }
        return Ok(None);
    };
    let policy = Policy::from_name(restart.get_ref()).ok_or_else(|| {
        cx.error(
            restart,
            format!(
                "program `{name}`: restart must be \"on-fault\" or \"always\", not \"{}\"",
                restart.get_ref()
            ),
        )
    })?;
    let duration = |key: &str, value: &Option<Spanned<String>>| -> Result<Option<u32>, Error> {
        let Some(value) = value else { return Ok(None) };
        parse_duration_ms(value.get_ref()).map(Some).ok_or_else(|| {
            cx.error(
                value,
                format!("program `{name}`: {key} must be a duration like \"10 ms\" or \"2 s\" (or \"0\")"),
            )
        })
    };
    let mut spec = Restart::new(policy);
    if let Some(ms) = duration("restart_backoff", &program.restart_backoff)? {
        spec.backoff_ms = ms;
    }
    spec.backoff_max_ms = match duration("restart_backoff_max", &program.restart_backoff_max)? {
        Some(ms) if ms < spec.backoff_ms => {
            return Err(cx.error(
                program.restart_backoff_max.as_ref().unwrap_or(restart),
                format!(
                    "program `{name}`: restart_backoff_max ({ms} ms) is shorter than restart_backoff ({} ms)",
                    spec.backoff_ms
                ),
            ));
        }
        Some(ms) => ms,
        None => DEFAULT_BACKOFF_MAX_MS.max(spec.backoff_ms),
    };
    if let Some(ms) = duration("restart_stable", &program.restart_stable)? {
        spec.stable_ms = ms;
    }
    Ok(Some(spec))
}

/// Makes the programs with `restart` the supervisor's: each starts by
/// `spawn`, only the supervisor spawns it, and `--strict` takes any end of
/// it (unless it says `expect`). Completes the supervisor's entry (a
/// program of `crate = "supervisor"`) with their names in `spawns` and
/// their policies in `args`, or adds one when the manifest has none.
/// `programs` are in the order of `raw.program`.
pub(super) fn supervise(
    cx: &Context<'_>,
    raw: &FileToml,
    endpoints: &[Endpoint],
    programs: &mut Vec<Program>,
) -> Result<(), Error> {
    let is_supervisor = |p: &Program| p.source == Source::Crate(SUPERVISOR_CRATE.into());
    let mut declared = None;
    for (index, program) in programs.iter().enumerate() {
        if !is_supervisor(program) {
            continue;
        }
        if let Some(first) = declared {
            let first: &Program = &programs[first];
            return Err(cx.error(
                &raw.program[index].get_ref().name,
                format!(
                    "program `{}`: only one program may be the supervisor (`{}` is already)",
                    program.name, first.name
                ),
            ));
        }
        declared = Some(index);
    }
    let restartable: Vec<usize> = (0..programs.len()).filter(|&i| programs[i].restart.is_some()).collect();
    if restartable.is_empty() && declared.is_none() {
        return Ok(());
    }

    let mut args = String::new();
    for (count, &index) in restartable.iter().enumerate() {
        let toml = raw.program[index].get_ref();
        let restart_key = toml.restart.as_ref().expect("a program with restart has the key");
        let name = programs[index].name.clone();
        if Some(index) == declared {
            return Err(cx.error(
                restart_key,
                format!("program `{name}`: the supervisor cannot restart itself"),
            ));
        }
        if let Some(start) = &toml.start
            && start.get_ref() != Start::Spawn.name()
        {
            return Err(cx.error(
                start,
                format!(
                    "program `{name}`: with restart, the supervisor starts it: say start = \"spawn\" or leave start out"
                ),
            ));
        }
        for (spawner, other) in raw.program.iter().enumerate() {
            if Some(spawner) == declared {
                continue;
            }
            let other = other.get_ref();
            if let Some(target) = other.spawns.iter().find(|target| *target.get_ref() == name) {
                return Err(cx.error(
                    target,
                    format!(
                        "program `{}`: spawns `{name}`, which has restart: only the supervisor may start it",
                        other.name.get_ref()
                    ),
                ));
            }
        }
        if count == MAX_SPAWNS {
            return Err(cx.error(
                restart_key,
                format!(
                    "program `{name}`: at most {MAX_SPAWNS} programs may have restart (the supervisor spawns at most {MAX_SPAWNS})"
                ),
            ));
        }
        let program = &mut programs[index];
        program.start = Start::Spawn;
        program.expect = program.expect.or(Some(Expect::Any));
        let entry = Entry {
            name: &program.name,
            restart: program.restart.expect("restartable"),
        };
        let word = entry.to_string();
        let length = args.len() + usize::from(!args.is_empty()) + word.len();
        if length > MAX_ARGS {
            return Err(cx.error(
                restart_key,
                format!(
                    "program `{name}`: the supervisor's arguments would be {length} bytes, more than {MAX_ARGS}: \
                     give the programs with restart shorter names, or the default back-off"
                ),
            ));
        }
        if !args.is_empty() {
            args.push(' ');
        }
        args.push_str(&word);
    }
    let spawns: Vec<String> = restartable.iter().map(|&i| programs[i].name.clone()).collect();

    if let Some(index) = declared {
        let toml = raw.program[index].get_ref();
        let name = &programs[index].name;
        let written = [
            ("spawns", toml.spawns.first().map(Spanned::span)),
            ("args", toml.args.as_ref().map(Spanned::span)),
        ];
        if let Some((key, span)) = written.iter().find_map(|(key, span)| Some((key, span.clone()?))) {
            return Err(cx.error_at(
                Some(span.start),
                format!(
                    "program `{name}`: the supervisor's {key} are written from the programs' restart fields; leave them out"
                ),
            ));
        }
        if programs[index].start != Start::Boot {
            let start = toml.start.as_ref().expect("start = \"spawn\" was written");
            return Err(cx.error(start, format!("program `{name}`: the supervisor starts at boot")));
        }
        programs[index].spawns = spawns;
        programs[index].args = args;
        return Ok(());
    }

    if let Some(index) = programs.iter().position(|p| p.name == SUPERVISOR_NAME) {
        return Err(cx.error(
            &raw.program[index].get_ref().name,
            format!(
                "program `{SUPERVISOR_NAME}`: programs have restart, so the build tool adds the supervisor server \
                 under this name: rename this program, or make it `crate = \"{SUPERVISOR_CRATE}\"`"
            ),
        ));
    }
    let first = &programs[restartable[0]];
    let priority = restartable
        .iter()
        .map(|&i| programs[i].priority)
        .max()
        .map_or(0, |highest| (highest + 1).min(PRIORITIES - 1));
    let handles = endpoints
        .iter()
        .filter(|endpoint| endpoint.notices)
        .map(|endpoint| HandleSpec {
            endpoint: endpoint.name.clone(),
            rights: Rights::SEND,
            badge: 0,
            line: None,
        })
        .collect();
    let supervisor = Program {
        name: SUPERVISOR_NAME.into(),
        source: Source::Crate(SUPERVISOR_CRATE.into()),
        bin: SUPERVISOR_CRATE.into(),
        priority,
        io_serial: false,
        start: Start::Boot,
        spawns,
        cpu_limit: None,
        memory_pages: None,
        irqs: Vec::new(),
        cpus: Vec::new(),
        threads: None,
        args,
        expect: None,
        handles,
        restart: None,
        restart_line: None,
        // What goes wrong with the entry is reported at the first `restart`.
        line: first.restart_line,
        source_line: first.restart_line,
        bin_line: None,
    };
    programs.push(supervisor);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::{error, parse};

    /// The console (lines 1 to 10), then `programs`.
    fn with_console(programs: &str) -> String {
        format!(
            "[[endpoint]]\nname = \"console\"\nnotices = true\n[[endpoint]]\nname = \"flaky\"\n\
             [[program]]\nname = \"console\"\ncrate = \"console\"\npriority = 6\n\
             handles = [{{ endpoint = \"console\", rights = [\"recv\"] }}]\n{programs}"
        )
    }

    /// A flaky server at priority 4 (lines 11 to 15 after the console),
    /// with `extra` lines from line 16.
    fn flaky(name: &str, extra: &str) -> String {
        format!(
            "[[program]]\nname = \"{name}\"\ncrate = \"flaky\"\nbin = \"flaky\"\npriority = 4\n{extra}\n\
             handles = [{{ endpoint = \"console\", rights = [\"send\"] }}, {{ endpoint = \"flaky\", rights = [\"recv\"] }}]\n"
        )
    }

    #[test]
    fn durations_are_milliseconds() {
        assert_eq!(parse_duration_ms("10 ms"), Some(10));
        assert_eq!(parse_duration_ms("10ms"), Some(10));
        assert_eq!(parse_duration_ms(" 2 s "), Some(2000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("0 ms"), Some(0));
        for bad in ["", "10", "1.5 s", "-1 ms", "10 min", "ms", "5000000 s"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn restart_adds_the_supervisor() {
        let text = with_console(&format!(
            "{}{}",
            flaky("flaky", "restart = \"on-fault\""),
            flaky(
                "log",
                "restart = \"always\"\nrestart_backoff = \"0\"\nrestart_stable = \"200 ms\""
            )
            .replace("priority = 4", "priority = 2"),
        ));
        let manifest = parse(&text).unwrap();
        let names: Vec<&str> = manifest.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["console", "flaky", "log", "supervisor"]);
        let supervisor = &manifest.programs[3];
        assert_eq!(supervisor.source, Source::Crate("supervisor".into()));
        assert_eq!(supervisor.priority, 5);
        assert_eq!(supervisor.spawns, ["flaky", "log"]);
        assert_eq!(supervisor.args, "flaky=f log=a,0,1000,200");
        assert_eq!(supervisor.handles.len(), 1);
        assert_eq!(supervisor.handles[0].endpoint, "console");
        assert_eq!(supervisor.handles[0].rights, Rights::SEND);
        assert_eq!(supervisor.line, Some(16));
        let flaky = &manifest.programs[1];
        assert_eq!(flaky.start, Start::Spawn);
        assert_eq!(flaky.expect, Some(Expect::Any));
        assert_eq!(flaky.restart, Some(Restart::new(Policy::OnFault)));
        let text = manifest.kernel_text().unwrap();
        assert!(
            text.ends_with(
                "program supervisor file=bin/supervisor priority=5 spawns=flaky,log\n\
                 args flaky=f log=a,0,1000,200\n\
                 handle console rights=send badge=0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("program flaky file=bin/flaky priority=4 start=spawn\n"),
            "{text}"
        );
        // Every entry reads back as it was written.
        let words: Vec<Entry> = Entry::all(&supervisor.args).map(Result::unwrap).collect();
        assert_eq!(words[1].restart.backoff_ms, 0);
        assert_eq!(words[1].restart.stable_ms, 200);
    }

    #[test]
    fn a_declared_supervisor_is_completed() {
        let text = with_console(&format!(
            "{}[[program]]\nname = \"keeper\"\ncrate = \"supervisor\"\nbin = \"supervisor\"\npriority = 7\n",
            flaky(
                "flaky",
                "restart = \"always\"\nrestart_backoff = \"20 ms\"\nrestart_backoff_max = \"80 ms\""
            ),
        ));
        let manifest = parse(&text).unwrap();
        assert_eq!(manifest.programs.len(), 3);
        let keeper = &manifest.programs[2];
        assert_eq!((keeper.priority, keeper.args.as_str()), (7, "flaky=a,20,80"));
        assert_eq!(keeper.spawns, ["flaky"]);
        assert!(keeper.handles.is_empty());
        // A supervisor with nothing to restart is left as it is.
        let alone =
            with_console("[[program]]\nname = \"s\"\ncrate = \"supervisor\"\nbin = \"supervisor\"\npriority = 5\n");
        assert_eq!(parse(&alone).unwrap().programs[1].args, "");
        // Without restart, nothing is added.
        assert_eq!(parse(&with_console(&flaky("flaky", ""))).unwrap().programs.len(), 2);
    }

    #[test]
    fn bad_restart_fields_are_refused_on_their_line() {
        for (extra, line, message) in [
            (
                "restart = \"never\"",
                16,
                "restart must be \"on-fault\" or \"always\", not \"never\"",
            ),
            ("restart_backoff = \"10 ms\"", 16, "restart_backoff goes with restart"),
            ("restart_stable = \"1 s\"", 16, "restart_stable goes with restart"),
            (
                "restart = \"always\"\nrestart_backoff = \"soon\"",
                17,
                "restart_backoff must be a duration",
            ),
            (
                "restart = \"always\"\nrestart_backoff = \"1 s\"\nrestart_backoff_max = \"100 ms\"",
                18,
                "restart_backoff_max (100 ms) is shorter than restart_backoff (1000 ms)",
            ),
            (
                "restart = \"always\"\nstart = \"boot\"",
                17,
                "say start = \"spawn\" or leave start out",
            ),
        ] {
            let (at, text) = error(&with_console(&flaky("flaky", extra)));
            assert_eq!(at, Some(line), "{extra}: {text}");
            assert!(text.contains(message), "{extra}: {text}");
            assert!(text.starts_with("program `flaky`: "), "{text}");
        }
        // A long back-off raises the default cap with it.
        let manifest = parse(&with_console(&flaky(
            "flaky",
            "restart = \"always\"\nrestart_backoff = \"5 s\"",
        )))
        .unwrap();
        assert_eq!(manifest.programs[1].restart.unwrap().backoff_max_ms, 5000);
    }

    #[test]
    fn conflicts_with_the_supervisor_are_refused_on_their_line() {
        let spawner =
            "[[program]]\nname = \"other\"\ncrate = \"hello\"\npriority = 1\nspawns = [\"console\", \"flaky\"]\n";
        let (at, text) = error(&with_console(&format!(
            "{}{spawner}",
            flaky("flaky", "restart = \"on-fault\"")
        )));
        assert_eq!(at, Some(22), "{text}");
        assert!(
            text.contains("program `other`: spawns `flaky`, which has restart"),
            "{text}"
        );

        let named = "[[program]]\nname = \"supervisor\"\ncrate = \"hostile\"\npriority = 5\n";
        let (at, text) = error(&with_console(&format!(
            "{}{named}",
            flaky("flaky", "restart = \"on-fault\"")
        )));
        assert_eq!(at, Some(19), "{text}");
        assert!(text.contains("rename this program"), "{text}");

        let declared = "[[program]]\nname = \"s\"\ncrate = \"supervisor\"\nbin = \"supervisor\"\npriority = 5\n";
        for (extra, line, message) in [
            ("spawns = [\"flaky\"]", 23, "the supervisor's spawns are written"),
            ("args = \"flaky=f\"", 23, "the supervisor's args are written"),
            ("start = \"spawn\"", 23, "the supervisor starts at boot"),
            ("restart = \"always\"", 23, "the supervisor cannot restart itself"),
        ] {
            let text = with_console(&format!(
                "{}{declared}{extra}\n",
                flaky("flaky", "restart = \"on-fault\"")
            ));
            let (at, text) = error(&text);
            assert_eq!(at, Some(line), "{extra}: {text}");
            assert!(text.contains(message), "{extra}: {text}");
        }
        let twice = with_console(&format!("{declared}{}", declared.replace("\"s\"", "\"t\"")));
        let (at, text) = error(&twice);
        assert_eq!(at, Some(17), "{text}");
        assert!(
            text.contains("only one program may be the supervisor (`s` is already)"),
            "{text}"
        );
    }

    #[test]
    fn the_supervisor_has_room_for_eight_short_names() {
        let many = |count: usize, prefix: &str| -> String {
            (0..count)
                .map(|i| {
                    format!(
                        "[[program]]\nname = \"{prefix}{i}\"\ncrate = \"flaky\"\npriority = 4\nrestart = \"always\"\n"
                    )
                })
                .collect()
        };
        let manifest = parse(&with_console(&many(MAX_SPAWNS, "s"))).unwrap();
        assert_eq!(manifest.programs.last().unwrap().spawns.len(), MAX_SPAWNS);
        let (at, text) = error(&with_console(&many(MAX_SPAWNS + 1, "s")));
        assert_eq!(at, Some(11 + 5 * MAX_SPAWNS + 4), "{text}");
        assert!(text.contains("at most 8 programs may have restart"), "{text}");
        let (at, text) = error(&with_console(&many(MAX_SPAWNS, "a-rather-long-n")));
        assert!(
            text.contains("the supervisor's arguments would be 132 bytes, more than 128"),
            "{text}"
        );
        assert_eq!(at, Some(11 + 5 * 6 + 4), "{text}");
    }
}
