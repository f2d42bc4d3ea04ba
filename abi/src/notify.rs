//! Notifications: a word of bits that `notify` ORs into and `notify_wait`
//! takes out, the way interrupts, child processes and other servers wake a
//! thread without a message.

/// `flags` of `notify_wait` and `process_wait`: do not wait; fail with
/// ETIMEDOUT at once if nothing is there.
pub const NONBLOCK: u64 = 1 << 0;

/// Every flag bit `notify_wait` and `process_wait` know.
pub const WAIT_FLAGS: u64 = NONBLOCK;

/// The label of the message a `recv` (or `reply_recv`) returns for a
/// notification bound to its endpoint (`notify_bind`): it carries the
/// KERNEL flag, badge 0, one word, the bits, and no bytes.
pub const NOTIFICATION_LABEL: u32 = crate::message::NOTIFICATION_LABEL;
