//! The README's examples are real code: every Rust block of its "Writing
//! your own server" section is an excerpt of the compiled file the text
//! before it names (`servers/...rs`), its pieces (between `// ...` lines)
//! in the file's order. So the README cannot show an API that no longer
//! compiles. No QEMU.

use std::path::Path;

fn section(readme: &str) -> &str {
    let start = readme
        .find("## Writing your own server")
        .expect("the README has a \"Writing your own server\" section");
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |at| start + 1 + at);
    &readme[start..end]
}

/// The Rust blocks of `text`, each with the last `.rs` path named (in
/// backticks) before it.
fn rust_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut file = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```rust" {
            let block: Vec<String> = lines
                .by_ref()
                .take_while(|l| l.trim() != "```")
                .map(|l| l.trim_end().to_string())
                .collect();
            blocks.push((file.clone(), block));
            continue;
        }
        for (at, _) in line.match_indices(".rs`") {
            if let Some(open) = line[..at].rfind('`') {
                file = line[open + 1..at + 3].to_string();
            }
        }
    }
    blocks
}

/// Whether `pieces` occur in `file`'s lines, each as consecutive lines, in
/// this order.
fn occur_in_order(file: &[String], pieces: &[Vec<String>]) -> Result<(), String> {
    let mut from = 0;
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        let found = (from..=file.len().saturating_sub(piece.len())).find(|&at| file[at..at + piece.len()] == piece[..]);
        match found {
            Some(at) => from = at + piece.len(),
            None => return Err(piece.join("\n")),
        }
    }
    Ok(())
}

#[test]
fn the_readme_shows_compiled_code() {
    let root = xtask::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = rust_blocks(section(&readme));
    assert!(
        blocks.len() >= 3,
        "the section has a server, its interface and a client: {blocks:?}"
    );
    for (file, block) in &blocks {
        assert!(
            file.starts_with("servers/"),
            "a Rust block names no source file before it: {block:?}"
        );
        let source =
            std::fs::read_to_string(Path::new(&root).join(file)).unwrap_or_else(|e| panic!("README names {file}: {e}"));
        let lines: Vec<String> = source.lines().map(|l| l.trim_end().to_string()).collect();
        let pieces: Vec<Vec<String>> = block
            .split(|line| line.trim() == "// ...")
            .map(<[String]>::to_vec)
            .collect();
        if let Err(piece) = occur_in_order(&lines, &pieces) {
            panic!("README.md shows lines that are not in {file} (in this order):\n{piece}");
        }
    }
}

#[test]
fn excerpts_are_checked() {
    let file: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let piece = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(occur_in_order(&file, &[piece(&["a", "b"]), piece(&["d"])]).is_ok());
    assert!(occur_in_order(&file, &[piece(&["d"]), piece(&["a"])]).is_err());
    assert!(occur_in_order(&file, &[piece(&["a", "c"])]).is_err());
    let blocks = rust_blocks("see `x/y.rs`:\n```rust\nfn a() {}\n```\n");
    assert_eq!(blocks, [("x/y.rs".to_string(), vec!["fn a() {}".to_string()])]);
}
