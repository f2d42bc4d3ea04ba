//! The kernel's modules call each other in one direction only: a graph of
//! the modules of the kernel core and of the kernel binary, built from the
//! paths their source files name (`crate::x`, `super::x`, `self::x`), has
//! no cycle.
//!
//! `cargo test -p kernel-core --test layering -- --nocapture` prints the
//! modules layer by layer, lowest first (the layering `docs/architecture.md`
//! draws).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module of one crate: its path below the crate root, `::`-joined
/// (`ipc::state`, `arch::x86_64::entry`), and its source file.
struct Module {
    name: String,
    source: String,
}

fn modules(crate_name: &str, src: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
                parts.pop();
            }
            let name = if parts.is_empty() {
                crate_name.to_string()
            } else {
                format!("{crate_name}::{}", parts.join("::"))
            };
            out.push(Module {
                name,
                source: std::fs::read_to_string(&path).unwrap(),
            });
        }
    }
    out
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest module of `known` that a path starting at `from` names.
fn resolve<'a>(path: &str, known: &'a BTreeSet<String>) -> Option<&'a String> {
    let mut candidate = path.to_string();
    loop {
        if let Some(found) = known.get(&candidate) {
            return Some(found);
        }
        candidate = candidate.rsplit_once("::")?.0.to_string();
    }
}

/// Module paths a file's code names: `crate::a::b`, `super::a`, `self::a`,
/// including inside `use` groups (`use crate::{a, b::c}`).
fn named_paths(module: &str, crate_name: &str, code: &str) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or(crate_name, |(p, _)| p);
    let mut out = Vec::new();
    let flat: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    for (prefix, base) in [("crate::", crate_name), ("super::", parent), ("self::", module)] {
        let mut rest = flat.as_str();
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let item = item.trim().replace(' ', "");
                    if !item.is_empty() {
                        out.push(format!("{base}::{item}"));
                    }
                }
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = rest[..end].trim_end_matches(':');
            if rest[end..].starts_with('{') {
                let group = &rest[end + 1..];
                let close = group.find('}').unwrap_or(group.len());
                for item in group[..close].split(',') {
                    let item = item.trim().replace(' ', "");
                    if !item.is_empty() {
                        out.push(format!("{base}::{path}::{item}"));
                    }
                }
            } else if !path.is_empty() {
                out.push(format!("{base}::{path}"));
            }
        }
    }
    out
}

/// The dependency graph of one crate's modules. A module's own parents are
/// not its dependencies (a parent only routes), nor are its children. A
/// path that names a parent module from outside it (`crate::arch::X86`,
/// which `arch` re-exports from somewhere below) counts as a dependency on
/// every module below that parent: the test cannot tell which one.
fn graph(crate_name: &str, src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(crate_name, src);
    let known: BTreeSet<String> = modules.iter().map(|m| m.name.clone()).collect();
    let below = |parent: &str| -> Vec<String> {
        known
            .iter()
            .filter(|name| name.starts_with(&format!("{parent}::")))
            .cloned()
            .collect()
    };
    let mut edges = BTreeMap::new();
    for module in &modules {
        let mut uses = BTreeSet::new();
        for path in named_paths(&module.name, crate_name, &code(&module.source)) {
            let Some(target) = resolve(&path, &known) else { continue };
            let ancestor = module.name.starts_with(&format!("{target}::"));
            let child = target.starts_with(&format!("{}::", module.name));
            if ancestor || child || *target == module.name {
                continue;
            }
            let children = below(target);
            if children.is_empty() {
                uses.insert(target.clone());
            } else {
                uses.extend(children.into_iter().filter(|c| *c != module.name));
            }
        }
        edges.insert(module.name.clone(), uses);
    }
    edges
}

/// Modules in layers: each uses only modules of earlier layers. `Err` with
/// the modules left when some are on a cycle.
fn layers(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<Vec<String>>, Vec<String>> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut layers = Vec::new();
    while placed.len() < graph.len() {
        let layer: Vec<String> = graph
            .iter()
            .filter(|(name, uses)| !placed.contains(*name) && uses.iter().all(|u| placed.contains(u)))
            .map(|(name, _)| name.clone())
            .collect();
        if layer.is_empty() {
            return Err(graph.keys().filter(|n| !placed.contains(*n)).cloned().collect());
        }
        placed.extend(layer.iter().cloned());
        layers.push(layer);
    }
    Ok(layers)
}

fn check(crate_name: &str, src: &Path) {
    let graph = graph(crate_name, src);
    assert!(graph.len() > 5, "{}: found too few modules", src.display());
    match layers(&graph) {
        Ok(layers) => {
            println!("{crate_name}, lowest layer first:");
            for (index, layer) in layers.iter().enumerate() {
                println!("  {index}: {}", layer.join(", "));
            }
        }
        Err(stuck) => {
            let detail: Vec<String> = stuck
                .iter()
                .map(|name| {
                    let on: Vec<&String> = graph[name].iter().filter(|u| stuck.contains(u)).collect();
                    format!("  {name} uses {on:?}")
                })
                .collect();
            panic!("{crate_name}: modules on a cycle:\n{}", detail.join("\n"));
        }
    }
}

#[test]
fn the_kernel_core_has_no_module_cycles() {
    check("kernel_core", &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}

#[test]
fn the_kernel_binary_has_no_module_cycles() {
    check("microkernel", &Path::new(env!("CARGO_MANIFEST_DIR")).join("../src"));
}

#[test]
fn a_cycle_is_found() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    graph.insert("c".to_string(), BTreeSet::new());
    assert_eq!(layers(&graph), Err(vec!["a".to_string(), "b".to_string()]));
    let found = named_paths(
        "k::x",
        "k",
        "use crate::{a, b::c}; use super::d; use crate::h::{i, j}; fn f() { crate::e::g(); }",
    );
    assert!(found.contains(&"k::h::i".to_string()) && found.contains(&"k::h::j".to_string()));
    assert!(found.contains(&"k::a".to_string()) && found.contains(&"k::b::c".to_string()));
    assert!(found.contains(&"k::d".to_string()) && found.contains(&"k::e::g".to_string()));
}
