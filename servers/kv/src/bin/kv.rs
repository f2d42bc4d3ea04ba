//! kv: a key-value server on the heap. It keeps its entries in a
//! `BTreeMap<String, String>` (libsys's `alloc` feature gives it a global
//! allocator on `mem_map`), and serves the interface of its library
//! (`kv::protocol`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use kv::protocol::{self, Server};
use kv::{MAX_TEXT, SEPARATOR};
use libsys::interface::Bytes;
use libsys::{Error, Result};

libsys::entry!(main);

/// Handle 0 is the console; handle 1 is our endpoint.
const ENDPOINT: libsys::Handle = 1;

struct Store {
    entries: BTreeMap<String, String>,
    /// Bytes of text held, keys and values.
    bytes: u64,
}

/// UTF-8 text of at most [`MAX_TEXT`] bytes, or EINVAL.
fn text(bytes: &[u8]) -> Result<&str> {
    if bytes.len() > MAX_TEXT {
        return Err(Error::INVAL);
    }
    core::str::from_utf8(bytes).map_err(|_| Error::INVAL)
}

impl Server for Store {
    fn put(&mut self, entry: &[u8]) -> Result<bool> {
        let at = entry.iter().position(|&b| b == SEPARATOR).ok_or(Error::INVAL)?;
        let (key, value) = (text(&entry[..at])?, text(&entry[at + 1..])?);
        self.bytes += (key.len() + value.len()) as u64;
        match self.entries.insert(String::from(key), String::from(value)) {
            Some(old) => {
                self.bytes -= (key.len() + old.len()) as u64;
                Ok(false)
            }
            None => Ok(true),
        }
    }

    fn get(&mut self, key: &[u8]) -> Result<Bytes<MAX_TEXT>> {
        let value = self.entries.get(text(key)?).ok_or(Error::NOTFOUND)?;
        Bytes::from_slice(value.as_bytes())
    }

    fn remove(&mut self, key: &[u8]) -> Result<bool> {
        match self.entries.remove(text(key)?) {
            Some(value) => {
                self.bytes -= (key.len() + value.len()) as u64;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn size(&mut self) -> Result<(u64, u64)> {
        Ok((self.entries.len() as u64, self.bytes))
    }
}

fn main() {
    protocol::serve(
        ENDPOINT,
        &mut Store {
            entries: BTreeMap::new(),
            bytes: 0,
        },
    )
}
