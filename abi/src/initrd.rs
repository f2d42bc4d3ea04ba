//! The initrd container: a standard `cpio` "newc" archive (`cpio -t` lists it).
//!
//! The reader is what the kernel runs on the bytes QEMU hands it, so it treats
//! them as untrusted: every length is checked, every sum is overflow-checked,
//! and a malformed archive is an error, never a panic. The writer (behind the
//! `std` feature) is what `cargo xtask build` uses to pack the image.

use core::fmt;

/// Length of a newc header: the 6-byte magic and 13 fields of 8 hex digits.
pub const HEADER_LEN: usize = 110;
/// Magic of the "new ASCII" format without checksums.
pub const MAGIC: &[u8; 6] = b"070701";
/// Name of the entry that ends every archive.
pub const TRAILER: &str = "TRAILER!!!";

/// Why an archive was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// The archive ends inside a header, a name or file data.
    Truncated {
        /// Byte offset of the entry.
        offset: usize,
    },
    /// A header does not start with `070701`.
    BadMagic {
        /// Byte offset of the header.
        offset: usize,
    },
    /// A header field is not 8 hex digits.
    BadField {
        /// Byte offset of the header.
        offset: usize,
    },
    /// A name is empty, lacks its NUL terminator, or is not UTF-8.
    BadName {
        /// Byte offset of the header.
        offset: usize,
    },
    /// The archive has no `TRAILER!!!` entry.
    MissingTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "archive truncated at byte {offset}"),
            Self::BadMagic { offset } => write!(f, "bad cpio magic at byte {offset}"),
            Self::BadField { offset } => write!(f, "bad cpio header field at byte {offset}"),
            Self::BadName { offset } => write!(f, "bad file name at byte {offset}"),
            Self::MissingTrailer => f.write_str("archive has no TRAILER!!! entry"),
        }
    }
}

/// One file of the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its path in the archive (`bin/hello`).
    pub name: &'a str,
    /// Type and permission bits, as `stat`'s `st_mode`.
    pub mode: u32,
    /// Its contents.
    pub data: &'a [u8],
}

/// Iterates over the entries of a newc archive, stopping at the trailer.
///
/// After an error the iterator is exhausted.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader of the archive `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            done: false,
        }
    }

    /// Finds the file called `name`.
    pub fn find(bytes: &'a [u8], name: &str) -> Result<Option<Entry<'a>>, CpioError> {
        for entry in Reader::new(bytes) {
            let entry = entry?;
            if entry.name == name {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    /// Checks the whole archive, returning the number of files in it.
    pub fn validate(bytes: &'a [u8]) -> Result<usize, CpioError> {
        let mut count = 0;
        for entry in Reader::new(bytes) {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    fn field(&self, header: &[u8], index: usize) -> Result<u32, CpioError> {
        let start = MAGIC.len() + index * 8;
        let digits = &header[start..start + 8];
        let mut value: u32 = 0;
        for &digit in digits {
            let nibble = match digit {
                b'0'..=b'9' => digit - b'0',
                b'a'..=b'f' => digit - b'a' + 10,
                b'A'..=b'F' => digit - b'A' + 10,
                _ => {
                    return Err(CpioError::BadField {
                        offset: self.offset + start,
                    });
                }
            };
            value = (value << 4) | u32::from(nibble);
        }
        Ok(value)
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let start = self.offset;
        let truncated = CpioError::Truncated { offset: start };
        let header_end = start.checked_add(HEADER_LEN).ok_or(truncated)?;
        let header = self.bytes.get(start..header_end).ok_or(truncated)?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(CpioError::BadMagic { offset: start });
        }
        // All thirteen fields must be hex, though only three are used: an
        // archive that is not well-formed newc is refused as a whole.
        for index in 0..13 {
            self.field(header, index)?;
        }
        let mode = self.field(header, 1)?;
        let file_size = self.field(header, 6)? as usize;
        let name_size = self.field(header, 11)? as usize;

        let name_end = header_end.checked_add(name_size).ok_or(truncated)?;
        let name_bytes = self
            .bytes
            .get(header_end..name_end)
            .ok_or(CpioError::Truncated { offset: header_end })?;
        let bad_name = CpioError::BadName { offset: header_end };
        let (&nul, name) = name_bytes.split_last().ok_or(bad_name)?;
        if nul != 0 || name.is_empty() || name.contains(&0) {
            return Err(bad_name);
        }
        let name = core::str::from_utf8(name).map_err(|_| bad_name)?;

        let data_start = align4(name_end).ok_or(truncated)?;
        let data_end = data_start.checked_add(file_size).ok_or(truncated)?;
        let data = self
            .bytes
            .get(data_start..data_end)
            .ok_or(CpioError::Truncated { offset: data_start })?;
        self.offset = align4(data_end).ok_or(truncated)?;

        if name == TRAILER {
            return Ok(None);
        }
        Ok(Some(Entry { name, mode, data }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.offset >= self.bytes.len() {
            self.done = true;
            return Some(Err(CpioError::MissingTrailer));
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

fn align4(value: usize) -> Option<usize> {
    Some(value.checked_add(3)? & !3)
}

/// Builds a newc archive in memory.
#[cfg(any(feature = "std", test))]
#[derive(Default)]
pub struct Writer {
    bytes: std::vec::Vec<u8>,
    next_inode: u32,
}

#[cfg(any(feature = "std", test))]
impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a regular file with permissions `permissions` (e.g. 0o755).
    pub fn file(&mut self, name: &str, permissions: u32, data: &[u8]) -> &mut Self {
        self.entry(name, 0o100000 | (permissions & 0o7777), data);
        self
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        use std::io::Write;
        self.next_inode += 1;
        let name_size = name.len() + 1;
        let fields = [
            self.next_inode,
            mode,
            0,
            0,
            1,
            0,
            u32::try_from(data.len()).expect("initrd file over 4 GiB"),
            0,
            0,
            0,
            0,
            u32::try_from(name_size).expect("name too long"),
            0,
        ];
        self.bytes.extend_from_slice(MAGIC);
        for field in fields {
            write!(self.bytes, "{field:08x}").expect("writing to a Vec cannot fail");
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> std::vec::Vec<u8> {
        self.entry(TRAILER, 0, &[]);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn sample() -> Vec<u8> {
        let mut writer = Writer::new();
        writer.file("manifest", 0o644, b"manifest 1\n");
        writer.file("bin/hello", 0o755, &[0x7f, b'E', b'L', b'F', 1, 2, 3]);
        writer.file("empty", 0o644, &[]);
        writer.finish()
    }

    #[test]
    fn round_trip() {
        let archive = sample();
        let entries: Vec<_> = Reader::new(&archive).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].name, "manifest");
        assert_eq!(entries[0].data, b"manifest 1\n");
        assert_eq!(entries[1].name, "bin/hello");
        assert_eq!(entries[1].mode, 0o100755);
        assert_eq!(entries[2].data, b"");
        assert_eq!(Reader::validate(&archive), Ok(3));
        assert_eq!(Reader::find(&archive, "bin/hello").unwrap().unwrap().data.len(), 7);
        assert_eq!(Reader::find(&archive, "nope"), Ok(None));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let archive = sample();
        for len in 0..archive.len() {
            let result = Reader::validate(&archive[..len]);
            assert!(result.is_err(), "prefix of {len} bytes was accepted");
        }
    }

    #[test]
    fn bad_magic_field_and_name() {
        let mut archive = sample();
        archive[0] = b'1';
        assert_eq!(Reader::validate(&archive), Err(CpioError::BadMagic { offset: 0 }));

        let mut archive = sample();
        archive[6 + 6 * 8] = b'x'; // filesize field of the first entry
        assert_eq!(Reader::validate(&archive), Err(CpioError::BadField { offset: 54 }));

        let mut archive = sample();
        archive[HEADER_LEN + 8] = b'!'; // overwrite the NUL after "manifest"
        assert!(matches!(Reader::validate(&archive), Err(CpioError::BadName { .. })));
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let mut archive = sample();
        archive[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"ffffffff");
        assert!(matches!(Reader::validate(&archive), Err(CpioError::Truncated { .. })));
        let mut archive = sample();
        archive[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"FFFFFFFF");
        assert!(matches!(Reader::validate(&archive), Err(CpioError::Truncated { .. })));
    }

    #[test]
    fn missing_trailer() {
        let mut writer = Writer::new();
        writer.file("a", 0o644, b"x");
        let mut archive = writer.finish();
        let trailer = archive.windows(MAGIC.len()).rposition(|w| w == MAGIC).unwrap();
        archive.truncate(trailer);
        assert_eq!(Reader::validate(&archive), Err(CpioError::MissingTrailer));
    }
}
