//! kv-client: drives the key-value server and prints what it found as
//! `key=value` lines (`check.NAME=pass|fail`, and the counts). With the
//! argument `entries=N` it stores N entries (default 300: more than one
//! 64 KiB heap's worth of text on the server), reads every one back,
//! replaces and removes some, and checks the server's count of keys and
//! bytes after each step. Its own bookkeeping is a `Vec<String>` on its own
//! heap.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use kv::protocol::Client;
use libsys::Error;

libsys::entry!(main);

/// Handle 1: SEND to the server.
const KV: Client = Client::new(1);

fn key(i: usize) -> String {
    format!("key-{i:04}")
}

/// A value of a few hundred bytes, different for each key and round.
fn value(i: usize, round: usize) -> String {
    let mut value = format!("value {i} round {round}: ");
    while value.len() < 200 + i % 100 {
        value.push(char::from(b'a' + ((i + value.len()) % 26) as u8));
    }
    value
}

fn check(name: &str, pass: bool) -> bool {
    libsys::println!("check.{name}={}", if pass { "pass" } else { "fail" });
    pass
}

fn main() -> i32 {
    let entries: usize = libsys::arg("entries").and_then(|n| n.parse().ok()).unwrap_or(300);
    let mut ok = true;
    let mut values: Vec<String> = Vec::new();
    let mut bytes = 0u64;
    let mut new_keys = 0;
    for i in 0..entries {
        let (k, v) = (key(i), value(i, 0));
        bytes += (k.len() + v.len()) as u64;
        if KV.put(&kv::entry(&k, &v)) == Ok(true) {
            new_keys += 1;
        }
        values.push(v);
    }
    ok &= check("put", new_keys == entries);
    ok &= check("size_after_put", KV.size() == Ok((entries as u64, bytes)));
    let read_back = (0..entries).all(|i| KV.get(key(i).as_bytes()).is_ok_and(|v| v[..] == *values[i].as_bytes()));
    ok &= check("get", read_back);
    // Replace every third value: the keys stay, the bytes change.
    for i in (0..entries).step_by(3) {
        let v = value(i, 1);
        bytes = bytes + v.len() as u64 - values[i].len() as u64;
        ok &= KV.put(&kv::entry(&key(i), &v)) == Ok(false);
        values[i] = v;
    }
    ok &= check("replace", KV.size() == Ok((entries as u64, bytes)));
    // Remove every other key.
    let mut left = entries;
    for i in (0..entries).step_by(2) {
        ok &= KV.remove(key(i).as_bytes()) == Ok(true);
        bytes -= (key(i).len() + values[i].len()) as u64;
        left -= 1;
    }
    ok &= check("remove", KV.size() == Ok((left as u64, bytes)));
    ok &= check("removed_is_gone", KV.get(key(0).as_bytes()) == Err(Error::NOTFOUND));
    ok &= check("bad_utf8_is_einval", KV.put(&[0xff, 0, b'x']) == Err(Error::INVAL));
    ok &= check("no_separator_is_einval", KV.put(b"novalue") == Err(Error::INVAL));
    libsys::println!("entries={entries}");
    libsys::println!("keys_left={left}");
    libsys::println!("bytes_left={bytes}");
    if ok { 0 } else { 1 }
}
