//! Handles opened and closed, whatever they name: each kind of object
//! counts the handles that name it (an endpoint, to know when no one can
//! receive any more and when it can go; a memory object, to know when its
//! pages can go), and a memory object counts against the memory limit of
//! each process that holds a handle to it.

use crate::handles::{HandleEntry, Object};
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::wake;
use abi::Error;

/// Whether `process` can take one more handle `entry` (a memory object
/// must fit its memory limit). Checked before the handle is inserted.
pub fn can_open<M: Machine>(k: &Kernel<M>, process: usize, entry: HandleEntry) -> Result<(), Error> {
    match entry.object {
        Object::Endpoint(_) => Ok(()),
        Object::Memory(object) => {
            let (_, pages) = k.memory.frames(object);
            k.processes[process].memory.can_refer(object, pages as u64)
        }
    }
}

/// Counts a handle `entry` that `process` just got.
pub fn opened<M: Machine>(k: &mut Kernel<M>, process: usize, entry: HandleEntry) -> Result<(), Error> {
    match entry.object {
        Object::Endpoint(endpoint) => k.ipc.handle_opened(endpoint, entry.rights),
        Object::Memory(object) => {
            let (_, pages) = k.memory.frames(object);
            k.processes[process].memory.refer(object, pages as u64)?;
            k.memory.handle_opened(object);
        }
    }
    Ok(())
}

/// Counts a handle `entry` that `process` closed (or lost when it ended):
/// wakes the senders and receivers an endpoint can no longer serve (with
/// EPEERGONE), and frees a memory object nobody refers to any more.
pub fn closed<M: Machine>(k: &mut Kernel<M>, process: usize, entry: HandleEntry) {
    match entry.object {
        Object::Endpoint(endpoint) => {
            for waiter in k.ipc.handle_closed(endpoint, entry.rights) {
                wake::fail(k, waiter, Error::PEERGONE);
            }
        }
        Object::Memory(object) => {
            let (_, pages) = k.memory.frames(object);
            k.processes[process].memory.unrefer(object, pages as u64);
            if let Some(released) = k.memory.handle_closed(object) {
                k.frames
                    .free_run(released.base, released.pages)
                    .expect("a memory object's frames are allocated");
            }
        }
    }
}
