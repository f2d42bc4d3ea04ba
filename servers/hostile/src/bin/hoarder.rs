//! hoarder: takes kernel objects until the kernel refuses, then gives them
//! all back. Two of them run together, talking through the `hoard`
//! endpoint (handle 1):
//!
//! - `role=first` creates endpoints until `endpoint_create` fails: its own
//!   handle table (32 slots) fills first. It keeps them and waits on
//!   `hoard` (RECEIVE) until the second is done, then closes them all.
//! - `role=second` (lower priority, so it runs while the first holds its
//!   endpoints) creates endpoints until the kernel's endpoint table (64
//!   slots) is full, closes half of them, duplicates a handle with
//!   `handle_dup` until its handle table is full, closes everything and
//!   tells the first (SEND on `hoard`).
//!
//! Every refusal must be ETABLEFULL. Each reports what it took and the
//! tables' fill when the kernel refused (`created=`, `create_refusal=`,
//! `create.my_handles=` of `max_handles=`, `create.endpoints=` of
//! `endpoint_capacity=`; the second also `kept=`, `copies=`,
//! `dup_refusal=`, `dup.my_handles=`, `dup.endpoints=`), and the kernel's
//! endpoint count before and after the release (`released.endpoints_before=`,
//! `released.endpoints_after=`), which must be equal; the first reports
//! what the second said (`second_says=done`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::handle::MAX_HANDLES;
use libsys::abi::stats::Stats;
use libsys::ipc::{self, Msg};
use libsys::results::report;
use libsys::{Error, Handle, Rights};

libsys::entry!(main);

/// Handle 1: the `hoard` endpoint (RECEIVE for the first, SEND for the second).
const HOARD: Handle = 1;
/// Handles every hoarder starts with: the console and `hoard`.
const START_HANDLES: usize = 2;
/// Label of the second's message: done, everything released.
const DONE: u32 = 1;

/// Creates endpoints until the kernel refuses; returns them and the refusal.
fn create_all(handles: &mut handle_list::List) -> Option<Error> {
    loop {
        match libsys::endpoint_create() {
            Ok(handle) => {
                if handles.push(handle).is_err() {
                    return None;
                }
            }
            Err(error) => return Some(error),
        }
    }
}

/// `name` of the error, or `none`.
fn name(error: Option<Error>) -> &'static str {
    error.map_or("none", Error::name)
}

fn stats() -> Stats {
    libsys::stats().unwrap_or_default()
}

/// Closes every handle of `handles`; returns how many closes failed.
fn close_all(handles: &[Handle]) -> usize {
    handles
        .iter()
        .filter(|&&handle| libsys::handle_close(handle).is_err())
        .count()
}

/// Whether the kernel's endpoint count is back to `before`'s. (Handles are
/// not compared here: the bystanders running meanwhile open and close
/// theirs; the supervisor compares everything once all are gone.)
fn released(before: &Stats) -> bool {
    let after = stats();
    report("released.endpoints_before", before.endpoints);
    report("released.endpoints_after", after.endpoints);
    before.endpoints == after.endpoints
}

/// Reports what `create_all` took and the tables' fill at the refusal.
fn report_created(created: usize, refusal: Option<Error>) {
    let now = stats();
    report("created", created);
    report("create_refusal", name(refusal));
    report("create.my_handles", START_HANDLES + created);
    report("max_handles", MAX_HANDLES);
    report("create.endpoints", now.endpoints);
    report("endpoint_capacity", now.endpoint_capacity);
}

fn first() -> i32 {
    let before = stats();
    let mut handles = handle_list::List::new();
    let refusal = create_all(&mut handles);
    report_created(handles.len(), refusal);
    let waited = ipc::recv(HOARD, &mut []);
    report(
        "second_says",
        match &waited {
            Ok(message) if message.label == DONE => "done",
            Ok(_) => "something_else",
            Err(error) => error.name(),
        },
    );
    let failed = close_all(&handles);
    let back = released(&before);
    if refusal == Some(Error::TABLEFULL) && waited.is_ok() && failed == 0 && back {
        0
    } else {
        1
    }
}

fn second() -> i32 {
    let before = stats();
    let mut handles = handle_list::List::new();
    let refusal = create_all(&mut handles);
    report_created(handles.len(), refusal);
    let mut wrong = usize::from(refusal != Some(Error::TABLEFULL));

    // Make room in the handle table (each close frees its endpoint too),
    // then fill it again with copies of one handle.
    let half = handles.len() / 2;
    wrong += close_all(&handles[half..]);
    handles.truncate(half);
    let Some(&original) = handles.first() else {
        report("kept", 0);
        return 1;
    };
    let mut copies = handle_list::List::new();
    let refusal = loop {
        match libsys::handle_dup(original, Rights::SEND, 7) {
            Ok(copy) => {
                if copies.push(copy).is_err() {
                    break None;
                }
            }
            Err(error) => break Some(error),
        }
    };
    let now = stats();
    report("kept", half);
    report("copies", copies.len());
    report("dup_refusal", name(refusal));
    report("dup.my_handles", START_HANDLES + half + copies.len());
    report("dup.endpoints", now.endpoints);
    wrong += usize::from(refusal != Some(Error::TABLEFULL));
    wrong += close_all(&copies);
    wrong += close_all(&handles);
    wrong += usize::from(!released(&before));
    let told = ipc::send(HOARD, &Msg::new(DONE), &[]);
    wrong += usize::from(told.is_err());
    wrong as i32
}

fn main() -> i32 {
    match libsys::arg("role") {
        Some("first") => first(),
        Some("second") => second(),
        other => {
            report("role", format_args!("unknown {other:?}"));
            2
        }
    }
}

/// A fixed list of handles (no heap here).
mod handle_list {
    use libsys::Handle;

    pub struct List {
        items: [Handle; super::MAX_HANDLES],
        len: usize,
    }

    impl List {
        pub const fn new() -> List {
            List {
                items: [0; super::MAX_HANDLES],
                len: 0,
            }
        }

        /// Appends `handle`; fails when full.
        pub fn push(&mut self, handle: Handle) -> Result<(), Handle> {
            let slot = self.items.get_mut(self.len).ok_or(handle)?;
            *slot = handle;
            self.len += 1;
            Ok(())
        }

        pub fn truncate(&mut self, len: usize) {
            self.len = self.len.min(len);
        }
    }

    impl core::ops::Deref for List {
        type Target = [Handle];

        fn deref(&self) -> &[Handle] {
            &self.items[..self.len]
        }
    }
}
