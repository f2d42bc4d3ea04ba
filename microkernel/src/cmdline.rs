//! The kernel command line: space-separated `key=value` words.

/// The value of the first `key=value` word, if any.
pub fn option<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_ascii_whitespace().find_map(|word| {
        let (k, v) = word.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// Whether the bare word `flag` (or `flag=1`/`flag=on`) is present.
pub fn flag(cmdline: &str, name: &str) -> bool {
    cmdline.split_ascii_whitespace().any(|word| word == name)
        || matches!(option(cmdline, name), Some("1" | "on" | "yes" | "true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_flags() {
        let line = "log=debug  fault=pf trace bad= =x";
        assert_eq!(option(line, "log"), Some("debug"));
        assert_eq!(option(line, "fault"), Some("pf"));
        assert_eq!(option(line, "bad"), Some(""));
        assert_eq!(option(line, "missing"), None);
        assert!(flag(line, "trace"));
        assert!(!flag(line, "log"));
        assert!(flag("trace=on", "trace"));
        assert_eq!(option("", "log"), None);
    }
}
