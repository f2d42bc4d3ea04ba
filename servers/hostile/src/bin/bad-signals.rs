//! bad-signals: every syscall of notifications, interrupt lines and process
//! handles, given bad input. Each case prints `syscall.case=RESULT` (the
//! error's name, or `ok`); the system test compares them with the ABI's
//! documented errors. Nothing here may kill the program or change what a
//! failed call was given.
//!
//! Handles: 0 the console; 1 an endpoint handle whose manifest entry grants
//! it `send`, `signal`, `wait` and `kill` (rights that only fit other
//! kinds of object: the kind check is then what refuses it); 2 interrupt
//! line 7 (`irqs = [7]`, no device). It may spawn `sleepy`.

#![no_std]
#![no_main]

use hostile::{report, report_result};
use libsys::abi::Syscall;
use libsys::abi::notify::NONBLOCK;
use libsys::abi::process::Info;
use libsys::abi::time::TIME_PAGE;
use libsys::{Child, Handle, Notification, Rights, raw};

libsys::entry!(main);

/// Handle 1: an endpoint, with SIGNAL, WAIT and KILL besides SEND.
const ODD: Handle = 1;
/// Handle 2: interrupt line 7.
const IRQ: Handle = 2;
/// A handle value no table holds: slot 31 with generation 0x77.
const FORGED: Handle = 31 | 0x77 << 8;

fn dup(handle: Handle, rights: Rights) -> Handle {
    libsys::handle_dup(handle, rights, 0).unwrap_or(FORGED)
}

/// A handle that was open and is closed now.
fn stale(handle: Handle) -> Handle {
    let copy = libsys::handle_dup(handle, Rights::TRANSFER, 0).unwrap_or(FORGED);
    let _ = libsys::handle_close(copy);
    copy
}

/// `process_info(pointer, len)` with any pointer.
fn process_info_raw(pointer: u64, len: u64) -> libsys::Result<u64> {
    // SAFETY: the kernel checks the range; every range given here is one
    // the kernel must refuse or one this function's caller owns.
    libsys::decode(unsafe { raw::syscall2(Syscall::ProcessInfo as u64, pointer, len) })
}

/// `spawn(name, args)` with any bytes and pointers; closes a handle it
/// returns.
fn spawn_raw(name: (u64, u64), args: (u64, u64)) -> libsys::Result<u64> {
    // SAFETY: the kernel only reads the two ranges (and checks them).
    let (rax, _) = unsafe { raw::syscall4_2(Syscall::Spawn as u64, name.0, name.1, args.0, args.1) };
    let result = libsys::decode(rax);
    if let Ok(handle) = result {
        let _ = libsys::handle_close(handle);
    }
    result
}

fn notifications(notification: &Notification) {
    let own = notification.handle();
    let wait_only = dup(own, Rights::WAIT);
    let signal_only = dup(own, Rights::SIGNAL);
    report_result("notify.stale", &libsys::notify(stale(own), 1));
    report_result("notify.forged", &libsys::notify(FORGED, 1));
    report_result("notify.all_ones", &libsys::notify(u64::MAX, 1));
    report_result("notify.wait_only", &libsys::notify(wait_only, 1));
    report_result("notify.console", &libsys::notify(0, 1));
    report_result("notify.endpoint_with_signal", &libsys::notify(ODD, 1));
    report_result("notify.zero_bits", &libsys::notify(own, 0));
    report_result("notify.zero_bits_pending", &notification.poll());

    report_result(
        "notify_wait.signal_only",
        &libsys::notify_wait(signal_only, 0, NONBLOCK),
    );
    report_result("notify_wait.flag_2", &libsys::notify_wait(own, 0, 2));
    report_result("notify_wait.flag_63", &libsys::notify_wait(own, 0, 1 << 63));
    report_result("notify_wait.endpoint_with_wait", &libsys::notify_wait(ODD, 0, NONBLOCK));
    report_result("notify_wait.irq", &libsys::notify_wait(IRQ, 0, NONBLOCK));
    report_result("notify_wait.stale", &libsys::notify_wait(stale(own), 0, NONBLOCK));
    // A refused wait took nothing: the bits are still there.
    let _ = libsys::notify(own, 0x8);
    let _ = libsys::notify_wait(own, 0, 2);
    match notification.poll() {
        Ok(bits) => report("notify_wait.refused_kept", format_args!("{bits:#x}")),
        Err(error) => report("notify_wait.refused_kept", error.name()),
    }

    let endpoint = libsys::endpoint_create().unwrap_or(FORGED);
    let send_only = dup(endpoint, Rights::SEND);
    report_result("notify_bind.signal_only", &libsys::notify_bind(signal_only, endpoint));
    report_result("notify_bind.endpoint_send_only", &libsys::notify_bind(own, send_only));
    report_result("notify_bind.endpoint_is_notification", &libsys::notify_bind(own, own));
    report_result(
        "notify_bind.notification_is_endpoint",
        &libsys::notify_bind(ODD, endpoint),
    );
    report_result("notify_bind.notification_is_irq", &libsys::notify_bind(IRQ, endpoint));
    report_result("notify_bind.stale", &libsys::notify_bind(stale(own), endpoint));
    report_result("notify_bind.first", &libsys::notify_bind(own, endpoint));
    report_result("notify_bind.twice", &libsys::notify_bind(own, endpoint));
    let second = Notification::new();
    if let Ok(second) = &second {
        report_result("notify_bind.endpoint_taken", &second.bind(endpoint));
    }
    let other_endpoint = libsys::endpoint_create().unwrap_or(FORGED);
    report_result(
        "notify_bind.notification_taken",
        &libsys::notify_bind(own, other_endpoint),
    );
    for handle in [wait_only, signal_only, endpoint, send_only, other_endpoint] {
        let _ = libsys::handle_close(handle);
    }
}

fn irqs(notification: &Notification, child: &Child) {
    let own = notification.handle();
    let wait_only = dup(own, Rights::WAIT);
    let transfer_only = dup(IRQ, Rights::TRANSFER);
    report_result("irq_ack.before_bind", &libsys::irq_ack(IRQ));
    report_result("irq_bind.zero_bits", &libsys::irq_bind(IRQ, own, 0));
    report_result("irq_bind.irq_is_notification", &libsys::irq_bind(own, own, 1));
    report_result("irq_bind.irq_is_process", &libsys::irq_bind(child.handle(), own, 1));
    report_result("irq_bind.irq_is_endpoint_with_wait", &libsys::irq_bind(ODD, own, 1));
    report_result("irq_bind.irq_without_wait", &libsys::irq_bind(transfer_only, own, 1));
    report_result("irq_bind.target_wait_only", &libsys::irq_bind(IRQ, wait_only, 1));
    report_result("irq_bind.target_console", &libsys::irq_bind(IRQ, 0, 1));
    report_result("irq_bind.target_endpoint_with_signal", &libsys::irq_bind(IRQ, ODD, 1));
    report_result("irq_bind.stale", &libsys::irq_bind(stale(IRQ), own, 1));
    report_result("irq_ack.still_unbound", &libsys::irq_ack(IRQ));
    report_result("irq_ack.notification", &libsys::irq_ack(own));
    report_result("irq_ack.without_wait", &libsys::irq_ack(transfer_only));
    report_result("irq_ack.stale", &libsys::irq_ack(stale(IRQ)));
    report_result("irq_bind.good", &libsys::irq_bind(IRQ, own, 1));
    report_result("irq_ack.after_bind", &libsys::irq_ack(IRQ));
    report_result("irq_bind.rebind", &libsys::irq_bind(IRQ, own, 2));
    // No device is on line 7: nothing was signalled.
    report_result("irq.no_interrupt", &notification.poll());
    let _ = libsys::handle_close(wait_only);
    let _ = libsys::handle_close(transfer_only);
}

fn processes(notification: &Notification, child: &Child) {
    let own = notification.handle();
    let kill_only = dup(child.handle(), Rights::KILL);
    let wait_only = dup(child.handle(), Rights::WAIT);
    let notification_wait_only = dup(own, Rights::WAIT);
    report_result("process_wait.flag_2", &libsys::process_wait(child.handle(), 0, 2));
    report_result("process_wait.notification", &libsys::process_wait(own, 0, NONBLOCK));
    report_result(
        "process_wait.endpoint_with_wait",
        &libsys::process_wait(ODD, 0, NONBLOCK),
    );
    report_result("process_wait.irq", &libsys::process_wait(IRQ, 0, NONBLOCK));
    report_result("process_wait.kill_only", &libsys::process_wait(kill_only, 0, NONBLOCK));
    report_result(
        "process_wait.stale",
        &libsys::process_wait(stale(child.handle()), 0, NONBLOCK),
    );
    report_result("process_wait.running", &libsys::process_wait(wait_only, 0, NONBLOCK));
    report_result("process_kill.wait_only", &libsys::process_kill(wait_only));
    report_result("process_kill.notification", &libsys::process_kill(own));
    report_result("process_kill.endpoint_with_kill", &libsys::process_kill(ODD));
    report_result("process_kill.forged", &libsys::process_kill(FORGED));
    report_result(
        "process_watch.zero_bits",
        &libsys::process_watch(child.handle(), own, 0),
    );
    report_result(
        "process_watch.process_is_notification",
        &libsys::process_watch(own, own, 1),
    );
    report_result("process_watch.kill_only", &libsys::process_watch(kill_only, own, 1));
    report_result(
        "process_watch.target_wait_only",
        &libsys::process_watch(child.handle(), notification_wait_only, 1),
    );
    report_result(
        "process_watch.target_endpoint_with_signal",
        &libsys::process_watch(child.handle(), ODD, 1),
    );
    // The child still runs: a KILL-only copy ends it; afterwards a kill is
    // EPEERGONE and the WAIT copy tells how it ended.
    report_result("process_kill.kill_only", &libsys::process_kill(kill_only));
    report_result("process_kill.again", &libsys::process_kill(kill_only));
    match libsys::process_wait(wait_only, 0, NONBLOCK) {
        Ok((ending, detail)) => {
            report("process_wait.killed", ending);
            report(
                "process_wait.killed_detail_is_me",
                if detail == u64::from(libsys::get_pid()) {
                    "yes"
                } else {
                    "no"
                },
            );
        }
        Err(error) => report("process_wait.killed", error.name()),
    }
    for handle in [kill_only, wait_only, notification_wait_only] {
        let _ = libsys::handle_close(handle);
    }
}

fn process_info() {
    report_result("process_info.null", &process_info_raw(0, Info::SIZE as u64));
    report_result("process_info.low", &process_info_raw(0x10, Info::SIZE as u64));
    report_result(
        "process_info.kernel",
        &process_info_raw(0xffff_8000_0000_0000, Info::SIZE as u64),
    );
    report_result(
        "process_info.non_canonical",
        &process_info_raw(0x0000_8000_0000_0000, Info::SIZE as u64),
    );
    report_result(
        "process_info.unmapped",
        &process_info_raw(0x5000_0000_0000, Info::SIZE as u64),
    );
    report_result(
        "process_info.code",
        &process_info_raw(main as fn() -> i32 as usize as u64, Info::SIZE as u64),
    );
    report_result(
        "process_info.time_page",
        &process_info_raw(TIME_PAGE, Info::SIZE as u64),
    );
    let mut buffer = [0xaau8; Info::SIZE];
    let pointer = buffer.as_mut_ptr() as u64;
    report_result("process_info.wrapping_len", &process_info_raw(pointer, u64::MAX));
    report_result(
        "process_info.count_only",
        &process_info_raw(pointer, 0).map(|count| count > 0),
    );
    let short = process_info_raw(pointer, 10);
    let untouched = buffer.iter().all(|&byte| byte == 0xaa);
    report_result("process_info.short", &short.map(|count| count > 0));
    report("process_info.short_untouched", if untouched { "yes" } else { "no" });
    report_result("stats.time_page", &{
        // SAFETY: the kernel checks the range: the time page is read-only.
        libsys::decode(unsafe { raw::syscall2(Syscall::Stats as u64, TIME_PAGE, 104) })
    });
}

fn spawns() {
    let name = b"sleepy";
    let named = (name.as_ptr() as u64, name.len() as u64);
    let long = [b'a'; 129];
    let not_utf8 = [b'x', 0xff, 0xfe];
    let mut none = [0u8; 0];
    report_result("spawn.args_too_long", &spawn_raw(named, (long.as_ptr() as u64, 129)));
    report_result("spawn.args_not_utf8", &spawn_raw(named, (not_utf8.as_ptr() as u64, 3)));
    report_result("spawn.args_unmapped", &spawn_raw(named, (0x5000_0000_0000, 8)));
    report_result("spawn.args_kernel", &spawn_raw(named, (0xffff_ffff_8000_0000, 8)));
    report_result("spawn.name_empty", &spawn_raw((none.as_mut_ptr() as u64, 0), (0, 0)));
    report_result("spawn.name_not_utf8", &spawn_raw((not_utf8.as_ptr() as u64, 3), (0, 0)));
    report_result("spawn.name_unknown", &libsys::spawn("nobody"));
    report_result("spawn.name_not_allowed", &libsys::spawn("hello"));
    // 128 bytes is the most: accepted, and the child gets all of them.
    let longest = core::str::from_utf8(&long[..128]).unwrap_or("");
    match libsys::spawn_with_args("sleepy", longest) {
        Ok(child) => report_result("spawn.args_128", &child.wait().map(|(ending, _)| ending)),
        Err(error) => report("spawn.args_128", error.name()),
    }
}

fn main() -> i32 {
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    let child = match libsys::spawn_with_args("sleepy", "ticks=forever") {
        Ok(child) => child,
        Err(error) => {
            report("spawn", error.name());
            return 1;
        }
    };
    notifications(&notification);
    irqs(&notification, &child);
    processes(&notification, &child);
    process_info();
    spawns();
    report("done", "yes");
    0
}
