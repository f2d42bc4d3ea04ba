//! Notifications and interrupt lines at the syscall level: the
//! `notify_*` and `irq_*` syscalls, a line firing, and handing the bits to
//! whoever [`crate::ipc::state`] says they wake.

use crate::handles::HandleEntry;
use crate::ipc::state::Signalled;
use crate::irq::Mask;
use crate::kernel::Kernel;
use crate::machine::Machine;
use abi::message::{MsgFlags, NOTIFICATION_LABEL};
use abi::regs::{self, ipc as ipc_regs};
use abi::{Error, MsgInfo, Rights};

/// ORs `bits` into `notification` and wakes whoever takes them.
pub fn signal<M: Machine>(k: &mut Kernel<M>, notification: usize, bits: u64) {
    let outcome = k.ipc.signal(notification, bits);
    deliver(k, outcome);
}

/// Writes the bits into the registers of the thread a signal woke, and
/// readies it: a `notify_wait` returns 0 with the bits in RDX; a receiver
/// gets a notification message.
pub fn deliver<M: Machine>(k: &mut Kernel<M>, outcome: Signalled) {
    match outcome {
        Signalled::Pending => {}
        Signalled::Woke { thread, bits } => {
            let frame = k.frame_mut(thread);
            frame.set(regs::SECOND_RESULT, bits);
            frame.set_result(Ok(0));
            k.sched.wake(thread);
        }
        Signalled::Received { thread, bits } => {
            receive_bits(k, thread, bits);
            k.sched.wake(thread);
        }
    }
}

/// Fills `thread`'s registers with the notification message for `bits`,
/// as a `recv` returns it.
pub fn receive_bits<M: Machine>(k: &mut Kernel<M>, thread: usize, bits: u64) {
    let info = MsgInfo::new(NOTIFICATION_LABEL, 1, 0).with_flags(MsgFlags::KERNEL);
    let frame = k.frame_mut(thread);
    frame.set(ipc_regs::BADGE, 0);
    frame.set(ipc_regs::INFO, info.0);
    frame.set(ipc_regs::WORDS[0], bits);
    frame.set_result(Ok(0));
}

/// Tells the machine what a line's change asks of it.
pub fn apply<M: Machine>(k: &mut Kernel<M>, line: usize, mask: Mask) {
    match mask {
        Mask::Keep => {}
        Mask::Mask => k.machine.irq_mask(line, true),
        Mask::Unmask => k.machine.irq_mask(line, false),
    }
}

/// Interrupt line `line` fired: it stays masked until its driver acks, and
/// its notification is signalled.
pub fn interrupt<M: Machine>(k: &mut Kernel<M>, line: usize) {
    if line >= crate::irq::LINES {
        return;
    }
    let (mask, binding) = k.irqs.fired(line);
    apply(k, line, mask);
    if let Some((notification, bits)) = binding {
        signal(k, notification, bits);
    }
}

fn handle<M: Machine>(k: &Kernel<M>, thread: usize, handle: u64, rights: Rights) -> Result<HandleEntry, Error> {
    k.process_of(thread).handles.require(handle, rights)
}

/// `notify_create`.
pub fn notify_create<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    if !k.process_of(thread).handles.has_room() {
        return Err(Error::TABLEFULL);
    }
    let notification = k.ipc.create_notification()?;
    let entry = HandleEntry {
        object: crate::handles::Object::Notification(notification),
        rights: Rights::SIGNAL | Rights::WAIT | Rights::TRANSFER,
        badge: 0,
    };
    let handle = k.process_of_mut(thread).handles.insert(entry)?;
    k.ipc.notification_opened(notification);
    Ok(handle)
}

/// `notify(handle, bits)`.
pub fn notify<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (handle_value, bits) = (frame.arg(0), frame.arg(1));
    let entry = handle(k, thread, handle_value, Rights::SIGNAL)?;
    let notification = entry.notification()?;
    signal(k, notification, bits | entry.badge);
    Ok(0)
}

/// Splits the `timeout` and `flags` arguments of `notify_wait` and
/// `process_wait`: whether to wait at all, and the deadline (0: none).
pub fn wait_arguments<M: Machine>(k: &Kernel<M>, timeout: u64, flags: u64) -> Result<(bool, u64), Error> {
    if flags & !abi::notify::WAIT_FLAGS != 0 {
        return Err(Error::INVAL);
    }
    let nonblocking = flags & abi::notify::NONBLOCK != 0;
    let deadline = if timeout == 0 {
        0
    } else {
        k.now().saturating_add(timeout)
    };
    Ok((nonblocking, deadline))
}

/// `notify_wait(handle, timeout, flags)`: returns at once with the bits, or
/// blocks (the result is set when a signal or the timeout wakes it).
pub fn notify_wait<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<(), Error> {
    let frame = k.frame(thread);
    let (handle_value, timeout, flags) = (frame.arg(0), frame.arg(1), frame.arg(2));
    let notification = handle(k, thread, handle_value, Rights::WAIT)?.notification()?;
    let (nonblocking, deadline) = wait_arguments(k, timeout, flags)?;
    if nonblocking && k.ipc.pending_bits(notification) == 0 {
        return Err(Error::TIMEDOUT);
    }
    match k.ipc.wait(thread, notification) {
        Some(bits) => {
            let frame = k.frame_mut(thread);
            frame.set(regs::SECOND_RESULT, bits);
            frame.set_result(Ok(0));
        }
        None => k.sched.block(thread, deadline),
    }
    Ok(())
}

/// `notify_bind(notification, endpoint)`.
pub fn notify_bind<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (notification, endpoint) = (frame.arg(0), frame.arg(1));
    let notification = handle(k, thread, notification, Rights::WAIT)?.notification()?;
    let endpoint = handle(k, thread, endpoint, Rights::RECEIVE)?.endpoint()?;
    let outcome = k.ipc.bind(notification, endpoint)?;
    deliver(k, outcome);
    Ok(0)
}

/// `irq_bind(irq, notification, bits)`.
pub fn irq_bind<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let frame = k.frame(thread);
    let (irq, notification, bits) = (frame.arg(0), frame.arg(1), frame.arg(2));
    let line = handle(k, thread, irq, Rights::WAIT)?.irq()?;
    let notification = handle(k, thread, notification, Rights::SIGNAL)?.notification()?;
    let mask = k.irqs.bind(line, notification, bits)?;
    apply(k, line, mask);
    Ok(0)
}

/// `irq_ack(irq)`.
pub fn irq_ack<M: Machine>(k: &mut Kernel<M>, thread: usize) -> Result<u64, Error> {
    let irq = k.frame(thread).arg(0);
    let line = handle(k, thread, irq, Rights::WAIT)?.irq()?;
    let mask = k.irqs.ack(line)?;
    apply(k, line, mask);
    Ok(0)
}
