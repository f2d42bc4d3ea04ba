//! libsys against the syscall table: every syscall of `abi::syscall::SYSCALLS`
//! has a wrapper that passes its number and as many arguments as the table
//! lists, and the raw `syscall` assembly binds the registers of
//! `abi::regs` in order. These read libsys's source text, so they run on the
//! host without a kernel.

use abi::regs::{self, Reg};
use abi::syscall::{ArgKind, SYSCALLS, SyscallDesc};
use std::collections::BTreeMap;

fn source(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The text of `fn name(` in `source`, up to the line that closes it at
/// the indentation the item started at.
fn function<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let start = [format!("fn {name}("), format!("fn {name}<")]
        .iter()
        .filter_map(|pattern| source.find(pattern.as_str()))
        .min()?;
    let line_start = source[..start].rfind('\n').map_or(0, |at| at + 1);
    let indent: String = source[line_start..start]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let close = format!("\n{indent}}}\n");
    let end = source[start..]
        .find(&close)
        .map_or(source.len(), |at| start + at + close.len());
    Some(&source[line_start..end])
}

/// The name of a syscall's wrapper: the table's name, except where that is
/// a Rust keyword.
fn wrapper_name(entry: &SyscallDesc) -> String {
    match entry.name {
        "yield" => "yield_now".into(),
        name => name.into(),
    }
}

/// Whether the syscall moves a message (its table entry has a MsgInfo).
fn is_ipc(entry: &SyscallDesc) -> bool {
    entry
        .args
        .iter()
        .chain(entry.results)
        .any(|f| f.kind == ArgKind::MsgInfo)
}

/// The names of the functions `source` defines.
fn defined_functions(source: &str) -> Vec<String> {
    source
        .split("fn ")
        .skip(1)
        .filter_map(|rest| rest.split(['(', '<']).next())
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// The text of the wrapper `name` and of the functions of `files` it calls,
/// and they call, a few levels deep (wrappers may share a helper).
fn wrapper_text(files: &[String], name: &str) -> Option<String> {
    let defined: Vec<String> = files.iter().flat_map(|file| defined_functions(file)).collect();
    let mut seen = vec![name.to_string()];
    let mut text = files.iter().find_map(|file| function(file, name))?.to_string();
    let mut frontier = text.clone();
    for _ in 0..3 {
        let mut next = String::new();
        for callee in &defined {
            if seen.contains(callee) || !frontier.contains(&format!("{callee}(")) {
                continue;
            }
            seen.push(callee.clone());
            if let Some(body) = files.iter().find_map(|file| function(file, callee)) {
                next.push_str(body);
            }
        }
        text.push_str(&next);
        frontier = next;
    }
    Some(text)
}

#[test]
fn every_syscall_has_a_wrapper_using_its_number() {
    let files = [source("sys.rs"), source("ipc.rs")];
    let mut problems = Vec::new();
    for entry in SYSCALLS {
        let name = wrapper_name(entry);
        let variant = format!("Syscall::{:?}", entry.number);
        let Some(text) = wrapper_text(&files, &name) else {
            problems.push(format!("{}: no `fn {name}` in libsys/src/sys.rs or ipc.rs", entry.name));
            continue;
        };
        let public = [format!("pub fn {name}"), format!("pub unsafe fn {name}")];
        if !public.iter().any(|start| text.trim_start().starts_with(start.as_str())) {
            problems.push(format!("{}: `fn {name}` is not public", entry.name));
        }
        if !text.contains(&variant) {
            problems.push(format!("{}: `fn {name}` does not use {variant}", entry.name));
        }
        if is_ipc(entry) {
            if !text.contains("raw::ipc(") {
                problems.push(format!("{}: `fn {name}` does not go through raw::ipc", entry.name));
            }
        } else {
            let raw = format!("raw::syscall{}(", entry.args.len());
            // A syscall with a second result (RDX) uses the form that
            // returns it.
            let second = entry.results.iter().any(|r| r.reg == regs::SECOND_RESULT);
            let raw_second = format!("raw::syscall{}_2(", entry.args.len());
            if !text.contains(&raw) && !(second && text.contains(&raw_second)) {
                problems.push(format!(
                    "{}: the table lists {} arguments but `fn {name}` does not call {raw}",
                    entry.name,
                    entry.args.len()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "libsys does not match the syscall table:\n{}",
        problems.join("\n")
    );
}

/// The `asm!` operands of a function: register → (direction, expression).
fn operands(body: &str) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    for piece in body.split([',', '\n']) {
        let piece = piece.trim();
        let Some((direction, rest)) = piece.split_once("(\"") else {
            continue;
        };
        let Some((reg, expression)) = rest.split_once("\")") else {
            continue;
        };
        if !["in", "out", "inout", "lateout", "inlateout"].contains(&direction) {
            continue;
        }
        found.insert(reg.to_string(), (direction.to_string(), expression.trim().to_string()));
    }
    found
}

fn operand(operands: &BTreeMap<String, (String, String)>, reg: Reg) -> (&str, &str) {
    let (direction, expression) = operands
        .get(reg.name())
        .unwrap_or_else(|| panic!("no operand binds {} in {operands:?}", reg.name()));
    (direction, expression)
}

/// The part of raw.rs built for the kernel's target (not the host stand-ins).
fn target_part(raw: &str) -> &str {
    let start = raw
        .find("#[cfg(target_os = \"none\")]")
        .expect("a target_os = none module");
    let end = raw[start..]
        .find("#[cfg(not(target_os = \"none\"))]")
        .map_or(raw.len(), |at| start + at);
    &raw[start..end]
}

/// The registers `raw::syscallN` binds its arguments `a0`, `a1`, ... to,
/// whether it is written out, made by a macro (`syscall!(syscall2(a0 =>
/// "rdi", a1 => "rsi"))`) or passes its arguments on to `syscall6`.
fn syscall_registers(target: &str, count: usize) -> Vec<String> {
    let name = format!("syscall{count}");
    // A macro invocation.
    for (at, _) in target.match_indices(&format!("({name}(")) {
        let list = &target[at + name.len() + 2..];
        let list = &list[..list.find(')').unwrap_or(list.len())];
        if list.contains("=>") || list.trim().is_empty() {
            return list
                .split(',')
                .filter(|pair| !pair.trim().is_empty())
                .map(|pair| {
                    pair.split("=>")
                        .nth(1)
                        .unwrap_or("")
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
                .collect();
        }
    }
    let body = function(target, &name).unwrap_or_else(|| panic!("no {name} in raw.rs"));
    if body.contains("asm!") {
        let bindings = operands(body);
        return (0..count)
            .map(|i| {
                let argument = format!("a{i}");
                bindings
                    .iter()
                    .find(|(_, (_, expression))| *expression == argument)
                    .map_or_else(|| "(unbound)".to_string(), |(reg, _)| reg.clone())
            })
            .collect();
    }
    // syscallN(number, a0, ..) = syscall6(number, a0, .., 0, ..).
    let arguments: Vec<String> = (0..6)
        .map(|i| if i < count { format!("a{i}") } else { "0".into() })
        .collect();
    let call = format!("syscall6(number, {})", arguments.join(", "));
    assert!(
        body.contains(&call),
        "{name} neither has asm nor calls `{call}`:\n{body}"
    );
    syscall_registers(target, 6).into_iter().take(count).collect()
}

#[test]
fn raw_syscalls_bind_the_argument_registers_in_order() {
    let raw = source("raw.rs");
    let target = target_part(&raw);
    for count in 0..=regs::ARGS.len() {
        let expected: Vec<&str> = regs::ARGS[..count].iter().map(|r| r.name()).collect();
        assert_eq!(syscall_registers(target, count), expected, "raw::syscall{count}");
    }
    // Every `syscall` instruction: number in RAX, RCX and R11 clobbered.
    let blocks: Vec<&str> = target
        .split("asm!(")
        .skip(1)
        .map(|b| &b[..b.find(");").unwrap_or(b.len())])
        .collect();
    let syscalls: Vec<&&str> = blocks.iter().filter(|b| b.contains("\"syscall\"")).collect();
    assert!(!syscalls.is_empty(), "no syscall instruction in raw.rs");
    for block in syscalls {
        let bindings = operands(block);
        assert_eq!(
            operand(&bindings, regs::NUMBER),
            ("inlateout", "number => ret"),
            "{block}"
        );
        for reg in regs::CLOBBERED {
            assert_eq!(
                operand(&bindings, reg),
                ("lateout", "_"),
                "{} is clobbered: {block}",
                reg.name()
            );
        }
    }

    let body = function(target, "int80_syscall3").expect("raw::int80_syscall3");
    let bindings = operands(body);
    assert_eq!(operand(&bindings, regs::NUMBER), ("inlateout", "number => ret"));
    for (i, reg) in regs::ARGS[..3].iter().enumerate() {
        assert_eq!(
            operand(&bindings, *reg),
            ("in", format!("a{i}").as_str()),
            "argument {i}"
        );
    }
}

#[test]
fn raw_ipc_binds_the_ipc_registers() {
    let raw = source("raw.rs");
    let body = function(target_part(&raw), "ipc").expect("raw::ipc");
    let bindings = operands(body);
    assert_eq!(operand(&bindings, regs::NUMBER), ("inlateout", "number => ret"));
    // In and out: handle (badge out), info, words. In only: buffer, capacity.
    assert_eq!(operand(&bindings, regs::ipc::HANDLE), ("inlateout", "regs.handle"));
    assert_eq!(
        regs::ipc::BADGE,
        regs::ipc::HANDLE,
        "the badge comes back where the handle went"
    );
    assert_eq!(operand(&bindings, regs::ipc::INFO), ("inlateout", "regs.info"));
    assert_eq!(operand(&bindings, regs::ipc::BUFFER), ("in", "regs.buffer"));
    assert_eq!(operand(&bindings, regs::ipc::CAPACITY), ("in", "regs.capacity"));
    for (i, reg) in regs::ipc::WORDS.iter().enumerate() {
        assert_eq!(
            operand(&bindings, *reg),
            ("inlateout", format!("w[{i}]").as_str()),
            "word {i}"
        );
    }
    for reg in regs::CLOBBERED {
        assert_eq!(operand(&bindings, reg), ("lateout", "_"), "{} is clobbered", reg.name());
    }
    // Every register the table names for an IPC syscall is bound.
    for entry in SYSCALLS.iter().filter(|d| is_ipc(d)) {
        for field in entry.args.iter().chain(entry.results) {
            assert!(
                bindings.contains_key(field.reg.name()),
                "{}: {} is not bound",
                entry.name,
                field.name
            );
        }
    }
}

#[test]
fn the_source_reader_finds_what_it_should() {
    let text =
        "pub fn a(x: u8) {\n    asm!(\n        in(\"rdi\") a0,\n        lateout(\"rcx\") _,\n    );\n}\nfn b() {}\n";
    let body = function(text, "a").unwrap();
    assert!(body.starts_with("pub fn a(") && body.ends_with("}\n") && !body.contains("fn b"));
    let bindings = operands(body);
    assert_eq!(bindings["rdi"], ("in".to_string(), "a0".to_string()));
    assert_eq!(bindings["rcx"], ("lateout".to_string(), "_".to_string()));
    assert!(function(text, "c").is_none());
    assert_eq!(defined_functions(text), ["a", "b"]);
    let macro_style = "#[cfg(target_os = \"none\")]\nmod imp {\n    syscall!(syscall0());\n    syscall!(syscall2(a0 => \"rdi\", a1 => \"rsi\"));\n}\n#[cfg(not(target_os = \"none\"))]\nhost!(syscall2(a0, a1));\n";
    assert_eq!(syscall_registers(target_part(macro_style), 2), ["rdi", "rsi"]);
    assert!(syscall_registers(target_part(macro_style), 0).is_empty());
    let files = ["pub fn outer() { inner(1) }\nfn inner<'a>(x: u8) {\n    Syscall::Exit;\n}\n".to_string()];
    assert!(wrapper_text(&files, "outer").unwrap().contains("Syscall::Exit"));
}
