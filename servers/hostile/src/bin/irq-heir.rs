//! irq-heir: holds an interrupt line after the driver that had it died.
//!
//! It spawns `irq-driver` twice (handle 1: RECEIVE on `irqpass`, where
//! each driver passes it a copy of line 5's handle). The first driver
//! bound the line to a notification of its own and passes only the line:
//! once it has ended (`first_ending=exited`), the binding has gone with
//! its notification, so `irq_ack` is EINVAL (`orphan_ack=EINVAL`) until
//! the heir binds the line to a notification of its own
//! (`orphan_bind=ok`, then `orphan_ack_after_bind=ok`). The second driver
//! also passes a copy of its notification: the binding outlives the
//! driver with it (`shared_ack=ok`). Closing its copies ends the heir's
//! hold on the line: the closed handle is EBADHANDLE
//! (`closed_ack=EBADHANDLE`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report, report_result};
use libsys::Handle;
use libsys::ipc::{self, Msg};

libsys::entry!(main);

/// Handle 1: RECEIVE on `irqpass`.
const PASSES: Handle = 1;

/// Receives one handle the driver passes, and answers the call.
fn take() -> libsys::Result<Handle> {
    let message = ipc::recv(PASSES, &mut [])?;
    let handle = message.handle.ok_or(libsys::Error::INVAL)?;
    ipc::reply(&Msg::new(label::PASS), &[])?;
    Ok(handle)
}

/// Spawns a driver and takes `count` handles from it; waits for its end.
fn driver(args: &str, count: usize, prefix: &str) -> libsys::Result<[Handle; 2]> {
    let child = libsys::spawn_with_args("irq-driver", args)?;
    let mut handles = [0; 2];
    for handle in handles.iter_mut().take(count) {
        *handle = take()?;
    }
    let (ending, _) = child.wait()?;
    libsys::println!("{prefix}_ending={ending}");
    Ok(handles)
}

fn main() -> i32 {
    let [line, _] = match driver("share=no", 1, "first") {
        Ok(handles) => handles,
        Err(error) => {
            report("first", error.name());
            return 1;
        }
    };
    report_result("orphan_ack", &libsys::irq_ack(line));
    let Some(mine) = hostile::notification() else {
        return 1;
    };
    report_result("orphan_bind", &libsys::irq_bind(line, mine.handle(), 4));
    report_result("orphan_ack_after_bind", &libsys::irq_ack(line));
    let _ = libsys::handle_close(line);
    report_result("closed_ack", &libsys::irq_ack(line));

    let [line, notification] = match driver("share=yes", 2, "second") {
        Ok(handles) => handles,
        Err(error) => {
            report("second", error.name());
            return 1;
        }
    };
    report_result("shared_ack", &libsys::irq_ack(line));
    // Nothing fired on line 5: the shared notification holds no bits.
    report_result(
        "shared_bits",
        &libsys::notify_wait(notification, 0, libsys::abi::notify::NONBLOCK),
    );
    let _ = libsys::handle_close(notification);
    report_result("unshared_ack", &libsys::irq_ack(line));
    let _ = libsys::handle_close(line);
    0
}
