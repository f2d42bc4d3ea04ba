//! Handles: a process's names for kernel objects, with rights.

use bitflags::bitflags;

/// A slot index in the calling process's handle table.
pub type Handle = u64;

/// Handles a process can hold at once.
pub const MAX_HANDLES: usize = 32;

/// By convention handle 0 is the console: `write` sends through it. A process
/// whose handle 0 is not a SEND handle to an endpoint gets `EBADHANDLE` or
/// `ENORIGHTS` from `write`.
pub const CONSOLE: Handle = 0;

bitflags! {
    /// What a handle allows its holder to do with the endpoint it names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u64 {
        /// `send` and `call` to the endpoint.
        const SEND = 1 << 0;
        /// `recv` and `reply_recv` on the endpoint.
        const RECEIVE = 1 << 1;
        /// Pass a copy of the handle to another process in a message, or
        /// duplicate it with `handle_dup`.
        const TRANSFER = 1 << 2;
    }
}

impl Rights {
    /// Names used in manifests, docs and traces.
    pub const NAMES: [(&'static str, Rights); 3] = [
        ("send", Rights::SEND),
        ("recv", Rights::RECEIVE),
        ("transfer", Rights::TRANSFER),
    ];

    /// Parses a comma-separated list such as `send,transfer`.
    pub fn parse_list(text: &str) -> Option<Rights> {
        let mut rights = Rights::empty();
        for word in text.split(',') {
            let (_, right) = Self::NAMES.iter().find(|(name, _)| *name == word)?;
            rights |= *right;
        }
        Some(rights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rights() {
        assert_eq!(Rights::parse_list("send"), Some(Rights::SEND));
        assert_eq!(
            Rights::parse_list("recv,transfer"),
            Some(Rights::RECEIVE | Rights::TRANSFER)
        );
        assert_eq!(Rights::parse_list("send,bogus"), None);
        assert_eq!(Rights::parse_list(""), None);
    }
}
