//! Handles opened and closed, whatever they name: each kind of object
//! counts the handles that name it (an endpoint, to know when no one can
//! receive any more and when it can go; a memory object, to know when its
//! pages can go; a notification, a process record or an interrupt line, to
//! know when it is no longer needed), and a memory object counts against
//! the memory limit of each process that holds a handle to it.

use crate::handles::{HandleEntry, Object};
use crate::irq;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::signals;
use crate::wake;
use abi::Error;

/// Whether `process` can take one more handle `entry` (a memory object
/// must fit its memory limit). Checked before the handle is inserted.
pub fn can_open<M: Machine>(k: &Kernel<M>, process: usize, entry: HandleEntry) -> Result<(), Error> {
    match entry.object {
        Object::Endpoint(_) | Object::Notification(_) | Object::Irq(_) | Object::Process(_) => Ok(()),
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
        Object::Notification(notification) => k.ipc.notification_opened(notification),
        Object::Irq(line) => k.irqs.opened(line),
        Object::Process(record) => k.records.opened(record),
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
        Object::Notification(notification) => {
            let (freed, waiters) = k.ipc.notification_closed(notification);
            for waiter in waiters {
                wake::fail(k, waiter, Error::PEERGONE);
            }
            if freed {
                k.records.forget_notification(notification);
                let mut lines = heapless::Vec::<usize, { irq::LINES }>::new();
                lines.extend(k.irqs.forget_notification(notification));
                for line in lines {
                    k.machine.irq_mask(line, true);
                }
            }
        }
        Object::Irq(line) => {
            let mask = k.irqs.closed(line);
            signals::apply(k, line, mask);
        }
        Object::Process(record) => {
            if let Some(process) = k.records.closed(record) {
                k.processes[process].record = None;
            }
        }
    }
}
