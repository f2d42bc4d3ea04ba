//! Reading a trace file: an iterator over its records that reports damaged
//! input instead of panicking or skipping it silently.

use super::record::{HEADER_MAGIC, MAGIC, RECORD_SIZE, Record, RecordKind};
use core::fmt;

/// What is wrong with a trace file at some point.
///
/// [`ReadError::BadHeader`] and [`ReadError::Version`] end the reading
/// ([`ReadError::is_fatal`]): the rest of the file cannot be understood.
/// After the others the [`Reader`] goes on with the next record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The file does not start with a `Header` record, so it does not say
    /// which ABI wrote it (it was cut at the start, or is not a trace).
    /// Reading goes on with the first record.
    NoHeader,
    /// A `Header` record at `offset` lacks [`HEADER_MAGIC`] or names another
    /// record size: the file is not a trace this reader understands.
    BadHeader {
        /// Byte offset of the record.
        offset: usize,
    },
    /// The header names an ABI version (`major << 16 | minor`) whose major
    /// version is not [`crate::ABI_VERSION`]'s: its records may mean
    /// something else, so they are not read.
    Version {
        /// The version the header names.
        found: u32,
    },
    /// `len` bytes from `offset` do not start a record (no [`MAGIC`]); they
    /// are skipped up to the next record.
    Garbage {
        /// Byte offset of the first skipped byte.
        offset: usize,
        /// Bytes skipped.
        len: usize,
    },
    /// The record at `offset` has a kind this reader does not know (written
    /// by a newer minor version, or damaged); it is skipped.
    UnknownKind {
        /// Byte offset of the record.
        offset: usize,
        /// Its kind byte.
        kind: u8,
    },
    /// The last `len` bytes, from `offset`, are not a whole record (the run
    /// was cut off while writing it).
    Truncated {
        /// Byte offset of the partial record.
        offset: usize,
        /// Bytes it has.
        len: usize,
    },
}

impl ReadError {
    /// Whether reading stops here (the header refuses the file).
    pub const fn is_fatal(self) -> bool {
        matches!(self, ReadError::BadHeader { .. } | ReadError::Version { .. })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReadError::NoHeader => {
                f.write_str("the trace does not start with a header record, so its ABI version is unknown")
            }
            ReadError::BadHeader { offset } => write!(
                f,
                "the header record at offset {offset} is not one of this ABI's trace headers"
            ),
            ReadError::Version { found } => write!(
                f,
                "the trace was written for ABI {}.{}; this reader knows ABI major version {} only",
                found >> 16,
                found & 0xffff,
                crate::ABI_VERSION >> 16
            ),
            ReadError::Garbage { offset, len } => {
                write!(f, "skipped {len} bytes at offset {offset} that are not trace records")
            }
            ReadError::UnknownKind { offset, kind } => {
                write!(f, "skipped the record at offset {offset}: unknown kind {kind}")
            }
            ReadError::Truncated { offset, len } => write!(
                f,
                "the last {len} bytes (from offset {offset}) are not a whole record (the run was cut off?)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReadError {}

/// The records of a trace file, in order: `Ok` for each record, `Err` for
/// each damaged stretch (see [`ReadError`]). Every byte of the input is
/// either part of a record or reported; after a fatal error the iterator
/// ends.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    started: bool,
    done: bool,
    version: Option<u32>,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, the whole trace file.
    pub const fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            offset: 0,
            started: false,
            done: false,
            version: None,
        }
    }

    /// The ABI version the last header read named, if one was read.
    pub const fn version(&self) -> Option<u32> {
        self.version
    }

    /// Byte offset of what is read next.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Whether a record of a known kind starts at `at` (a whole record or
    /// not): where reading resumes after bytes that are not records.
    fn starts_record(&self, at: usize) -> bool {
        let bytes = &self.bytes[at..];
        bytes.len() >= 3 && bytes[..2] == MAGIC.to_le_bytes() && RecordKind::from_u8(bytes[2]).is_some()
    }

    /// Checks a `Header` record at `offset`.
    fn check_header(&mut self, record: &Record, offset: usize) -> Result<(), ReadError> {
        if record.regs[0] != HEADER_MAGIC || record.regs[1] != RECORD_SIZE as u64 {
            return Err(ReadError::BadHeader { offset });
        }
        let found = record.number as u32;
        if record.number > u32::MAX as u64 || found >> 16 != crate::ABI_VERSION >> 16 {
            return Err(ReadError::Version { found });
        }
        self.version = Some(found);
        Ok(())
    }

    fn read(&mut self) -> Option<Result<Record, ReadError>> {
        let at = self.offset;
        let left = self.bytes.len() - at;
        if left == 0 {
            return None;
        }
        if self.bytes[at..].len() < 2 || self.bytes[at..at + 2] != MAGIC.to_le_bytes() {
            let next = (at + 1..self.bytes.len())
                .find(|&next| self.starts_record(next))
                .unwrap_or(self.bytes.len());
            self.offset = next;
            return Some(Err(ReadError::Garbage {
                offset: at,
                len: next - at,
            }));
        }
        if left < RECORD_SIZE {
            self.offset = self.bytes.len();
            return Some(Err(ReadError::Truncated { offset: at, len: left }));
        }
        let chunk: &[u8; RECORD_SIZE] = self.bytes[at..at + RECORD_SIZE].try_into().expect("a whole record");
        self.offset = at + RECORD_SIZE;
        let Some(record) = Record::from_bytes(chunk) else {
            return Some(Err(ReadError::UnknownKind {
                offset: at,
                kind: chunk[2],
            }));
        };
        if record.kind() == Some(RecordKind::Header)
            && let Err(error) = self.check_header(&record, at)
        {
            return Some(Err(error));
        }
        Some(Ok(record))
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            let header =
                self.bytes.len() >= RECORD_SIZE && self.starts_record(0) && self.bytes[2] == RecordKind::Header as u8;
            if !header {
                return Some(Err(ReadError::NoHeader));
            }
        }
        let item = self.read();
        match item {
            None => self.done = true,
            Some(Err(error)) if error.is_fatal() => self.done = true,
            _ => {}
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: RecordKind, pid: u32) -> [u8; RECORD_SIZE] {
        Record::new(kind, pid).to_bytes()
    }

    fn trace(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn read(bytes: &[u8]) -> Vec<Result<Record, ReadError>> {
        Reader::new(bytes).collect()
    }

    #[test]
    fn a_whole_trace_reads_back() {
        let header = Record::header().to_bytes();
        let bytes = trace(&[&header, &record(RecordKind::Start, 3), &record(RecordKind::End, 3)]);
        let records: Vec<Record> = read(&bytes).into_iter().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], Record::header());
        assert_eq!(records[2].kind(), Some(RecordKind::End));
        let mut reader = Reader::new(&bytes);
        reader.by_ref().for_each(drop);
        assert_eq!(reader.version(), Some(crate::ABI_VERSION));
        assert_eq!(reader.offset(), bytes.len());
    }

    #[test]
    fn a_missing_header_is_reported_once_and_reading_goes_on() {
        let bytes = trace(&[&record(RecordKind::Start, 3), &record(RecordKind::End, 3)]);
        let results = read(&bytes);
        assert_eq!(results[0], Err(ReadError::NoHeader));
        assert_eq!(results.len(), 3);
        assert!(results[1..].iter().all(Result::is_ok));
        assert_eq!(read(&[]), [Err(ReadError::NoHeader)]);
    }

    #[test]
    fn an_unknown_major_version_is_refused() {
        let mut header = Record::header();
        header.number = (crate::ABI_VERSION + (1 << 16)) as u64;
        let bytes = trace(&[&header.to_bytes(), &record(RecordKind::Start, 3)]);
        let found = header.number as u32;
        assert_eq!(read(&bytes), [Err(ReadError::Version { found })]);
        assert!(ReadError::Version { found }.to_string().contains("ABI 3.0"));
        // A newer minor version of the same major is read.
        header.number = (crate::ABI_VERSION + 7) as u64;
        let bytes = trace(&[&header.to_bytes(), &record(RecordKind::Start, 3)]);
        assert!(read(&bytes).iter().all(Result::is_ok));
        // So is a later header of a known version, and one of an unknown
        // version stops the reading there.
        header.number = 9 << 16;
        let bytes = trace(&[
            &Record::header().to_bytes(),
            &header.to_bytes(),
            &record(RecordKind::Start, 3),
        ]);
        let results = read(&bytes);
        assert_eq!(results.len(), 2);
        assert_eq!(results[1], Err(ReadError::Version { found: 9 << 16 }));
    }

    #[test]
    fn a_header_of_another_format_is_refused() {
        let mut header = Record::header();
        header.regs[0] = 0;
        assert_eq!(read(&header.to_bytes()), [Err(ReadError::BadHeader { offset: 0 })]);
        let mut header = Record::header();
        header.regs[1] = 64;
        assert_eq!(read(&header.to_bytes()), [Err(ReadError::BadHeader { offset: 0 })]);
    }

    #[test]
    fn damage_is_reported_and_skipped() {
        let header = Record::header().to_bytes();
        let start = record(RecordKind::Start, 3);
        let mut unknown = record(RecordKind::End, 3);
        unknown[2] = 99;
        let bytes = trace(&[&header, b"junk", &start, &unknown, &start, &start[..100]]);
        let results = read(&bytes);
        assert_eq!(
            results,
            [
                Ok(Record::header()),
                Err(ReadError::Garbage { offset: 128, len: 4 }),
                Ok(Record::new(RecordKind::Start, 3)),
                Err(ReadError::UnknownKind { offset: 260, kind: 99 }),
                Ok(Record::new(RecordKind::Start, 3)),
                Err(ReadError::Truncated { offset: 516, len: 100 }),
            ]
        );
        // Garbage to the end is one error.
        let bytes = trace(&[&header, &[0xff; 300]]);
        assert_eq!(read(&bytes)[1], Err(ReadError::Garbage { offset: 128, len: 300 }));
    }

    #[test]
    fn errors_say_what_happened() {
        let text = ReadError::Truncated { offset: 256, len: 100 }.to_string();
        assert!(text.contains("100 bytes") && text.contains("256"), "{text}");
        assert!(!ReadError::Garbage { offset: 0, len: 1 }.is_fatal());
        assert!(ReadError::Version { found: 0 }.is_fatal());
    }
}
