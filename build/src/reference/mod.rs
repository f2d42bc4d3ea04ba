//! The ABI reference, generated from the `abi` crate: Markdown for
//! `docs/abi.md` and JSON for tools (`cargo xtask abi --markdown|--json`).
//!
//! `docs/abi.md` is hand-written prose followed by the generated reference
//! between [`BEGIN_MARKER`] and [`END_MARKER`]; [`write_document`] rewrites
//! that part and a test fails when it is out of date.

pub mod json;
pub mod layout;
pub mod markdown;

pub use json::{SCHEMA_ID, SCHEMA_VERSION, json, json_text};
pub use markdown::markdown;

use crate::Error;
use std::path::PathBuf;

/// Opens the generated section of `docs/abi.md`.
pub const BEGIN_MARKER: &str = "<!-- BEGIN GENERATED: cargo xtask abi --markdown -->";
/// Closes it.
pub const END_MARKER: &str = "<!-- END GENERATED -->";

/// `<workspace>/docs/abi.md`.
pub fn document_path() -> PathBuf {
    crate::workspace_root().join("docs").join("abi.md")
}

/// `<workspace>/docs/abi.schema.json`.
pub fn schema_path() -> PathBuf {
    crate::workspace_root().join("docs").join("abi.schema.json")
}

/// The text between the markers of `document` (without the marker lines).
pub fn generated_section(document: &str) -> Result<&str, String> {
    let begin = document
        .find(BEGIN_MARKER)
        .ok_or_else(|| format!("no `{BEGIN_MARKER}` line"))?;
    let body = begin + BEGIN_MARKER.len();
    let body = body + document[body..].find('\n').map_or(0, |at| at + 1);
    let end = document[body..]
        .find(END_MARKER)
        .ok_or_else(|| format!("no `{END_MARKER}` line after `{BEGIN_MARKER}`"))?;
    Ok(&document[body..body + end])
}

/// `document` with the text between its markers replaced by `generated`.
pub fn replace_generated(document: &str, generated: &str) -> Result<String, String> {
    let old = generated_section(document)?;
    let start = old.as_ptr() as usize - document.as_ptr() as usize;
    let mut text = String::with_capacity(document.len() + generated.len());
    text.push_str(&document[..start]);
    text.push_str(generated);
    text.push_str(&document[start + old.len()..]);
    Ok(text)
}

/// Rewrites the generated section of `docs/abi.md`; returns whether the
/// file changed.
pub fn write_document() -> Result<bool, Error> {
    let path = document_path();
    let document =
        std::fs::read_to_string(&path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let text =
        replace_generated(&document, &markdown()).map_err(|e| Error::Build(format!("{}: {e}", path.display())))?;
    if text == document {
        return Ok(false);
    }
    std::fs::write(&path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(true)
}

/// Why `docs/abi.md`'s generated section differs from the ABI, if it does.
pub fn check_document() -> Result<(), String> {
    let path = document_path();
    let document = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let section = generated_section(&document).map_err(|e| format!("{}: {e}", path.display()))?;
    let expected = markdown();
    if section == expected {
        return Ok(());
    }
    let (line, old, new) = section
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (old, new))| old != new)
        .map(|(i, (old, new))| (i + 1, old.to_string(), new.to_string()))
        .unwrap_or_else(|| {
            let common = section.lines().count().min(expected.lines().count());
            (common + 1, "(end)".into(), "(more lines)".into())
        });
    Err(format!(
        "the generated section of {} is out of date; run `cargo xtask abi --markdown --write`\n\
         first difference, line {line} of the section:\n  in the file: {old}\n  generated:   {new}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_and_replaced() {
        let document = format!("intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\nafter\n");
        assert_eq!(generated_section(&document).unwrap(), "old\n");
        let new = replace_generated(&document, "new\nlines\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN_MARKER}\nnew\nlines\n{END_MARKER}\nafter\n"));
        assert!(generated_section("no markers").is_err());
        assert!(generated_section(&format!("{BEGIN_MARKER}\nunterminated")).is_err());
    }
}
