//! The documentation examples of `libsys` and `abi` are compiled: none is
//! `ignore`d (rustdoc compiles `no_run` and `compile_fail` examples, and
//! runs the others), so an example that no longer matches the API fails
//! `cargo test`. Blocks of other languages say so (`text`, `toml`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The info string of every code block opened in a doc comment of `source`.
fn opening_fences(source: &str) -> Vec<String> {
    let mut inside = false;
    let mut fences = Vec::new();
    for line in source.lines() {
        let line = line.trim_start();
        let Some(doc) = line.strip_prefix("//!").or_else(|| line.strip_prefix("///")) else {
            continue;
        };
        let Some(info) = doc.trim_start().strip_prefix("```") else {
            continue;
        };
        if !inside {
            fences.push(info.trim().to_string());
        }
        inside = !inside;
    }
    fences
}

#[test]
fn no_documentation_example_is_ignored() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("../abi/src"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    let mut examples = 0;
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for info in opening_fences(&source) {
            let attributes: Vec<&str> = info.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
            assert!(
                !attributes.contains(&"ignore"),
                "{}: an `ignore`d example (make it compile, `no_run` if it cannot run on the host)",
                file.display()
            );
            let other_language = attributes.iter().any(|a| ["text", "toml", "json", "sh"].contains(a));
            examples += usize::from(!other_language);
        }
    }
    assert!(examples >= 8, "only {examples} Rust examples found");
}

#[test]
fn fences_are_read() {
    let source = "/// ```\n/// code\n/// ```\n//! ```ignore\n//! ```\n//! ```text,ignore\n//! x\n//! ```\n";
    assert_eq!(opening_fences(source), ["", "ignore", "text,ignore"]);
}
