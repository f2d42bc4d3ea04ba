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

/// Parses `MAJOR.MINOR` into `major << 16 | minor`.
pub fn version(text: &str) -> Option<u32> {
    let (major, minor) = text.split_once('.')?;
    let (major, minor) = (major.parse::<u16>().ok()?, minor.parse::<u16>().ok()?);
    Some((major as u32) << 16 | minor as u32)
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

    #[test]
    fn versions() {
        assert_eq!(version("1.0"), Some(0x1_0000));
        assert_eq!(version("2.7"), Some(0x2_0007));
        assert_eq!(version("2"), None);
        assert_eq!(version("x.1"), None);
        assert_eq!(version("70000.1"), None);
    }
}
