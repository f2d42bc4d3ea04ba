//! watcher: one `notify_wait` for a child's end and for another signal.
//!
//! It makes a notification, spawns `sleepy` (30 ticks, then exit 3) and
//! watches it with [`CHILD`] (after a first watch with [`REPLACED`], which
//! the second replaces), and spawns `pinger` (`notify-flood` as a
//! signaller with count=0), which asks for a SIGNAL copy of the
//! notification on handle 1 (RECEIVE on `watch`) and signals [`PING`]
//! once. It waits until both bits came and reports each wake in order
//! (`wake1=`, `wake2=`, `wakes=`), whether the replaced watch ever fired
//! (`replaced=no`) and how the child ended, asked right after its bit
//! (`child_ending=exited`, `child_detail=3`). Then it watches the pinger,
//! which has ended by now: the bit comes at once (`late_watch=0x4`). Last,
//! a watch whose notification is closed before the child ends is
//! forgotten (`forgotten_ending=exited`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report};
use libsys::ipc::{self, Msg};
use libsys::{Handle, Notification, Rights};

libsys::entry!(main);

/// Handle 1: RECEIVE on `watch`.
const WATCH: Handle = 1;
/// The sleeper's bit.
const CHILD: u64 = 1 << 0;
/// The first watch's bit, replaced before the child ends.
const REPLACED: u64 = 1 << 1;
/// The bit of the pinger's watch, set after it ended.
const LATE: u64 = 1 << 2;
/// The pinger's bit (notify-flood's DONE).
const PING: u64 = 1 << 63;

fn run() -> libsys::Result<()> {
    let notification = Notification::new()?;
    let sleeper = libsys::spawn_with_args("sleepy", "ticks=30 status=3")?;
    sleeper.watch(&notification, REPLACED)?;
    sleeper.watch(&notification, CHILD)?;
    let pinger = libsys::spawn("pinger")?;
    ipc::recv(WATCH, &mut [])?;
    let copy = libsys::handle_dup(notification.handle(), Rights::SIGNAL | Rights::TRANSFER, 0)?;
    ipc::reply(&Msg::new(label::ASK).passing(copy), &[])?;
    libsys::handle_close(copy)?;

    let (mut seen, mut wakes, mut replaced) = (0, 0, false);
    while seen & (CHILD | PING) != CHILD | PING {
        let bits = notification.wait_timeout(500)?;
        wakes += 1;
        libsys::println!("wake{wakes}={bits:#x}");
        replaced |= bits & REPLACED != 0;
        seen |= bits;
        if bits & CHILD != 0 {
            let (ending, detail) = sleeper.try_wait()?;
            report("child_ending", ending);
            report("child_detail", detail);
        }
    }
    report("wakes", wakes);
    report("replaced", if replaced { "yes" } else { "no" });

    pinger.wait()?;
    pinger.watch(&notification, LATE)?;
    match notification.poll() {
        Ok(bits) => report("late_watch", format_args!("{bits:#x}")),
        Err(error) => report("late_watch", error.name()),
    }

    let forgotten = Notification::new()?;
    let child = libsys::spawn_with_args("sleepy", "ticks=5")?;
    child.watch(&forgotten, 1)?;
    drop(forgotten);
    let (ending, _) = child.wait()?;
    report("forgotten_ending", ending);
    Ok(())
}

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(error) => {
            report("error", error.name());
            1
        }
    }
}
