//! Error codes. A syscall that fails returns `-(code)` in RAX and has changed
//! nothing.

use core::fmt;

macro_rules! errors {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal, $text:literal;)*) => {
        /// Every error a syscall can return.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Error {
            $($(#[doc = $doc])* $name = $code,)*
        }

        impl Error {
            /// All error codes, in numeric order.
            pub const ALL: &'static [Error] = &[$(Error::$name,)*];

            /// The name used in docs and traces (`EFAULT`-style).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Error::$name => concat!("E", stringify!($name)),)*
                }
            }

            /// One line saying what the error means.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Error::$name => $text,)*
                }
            }

            /// Decodes a positive error code.
            pub const fn from_code(code: u64) -> Option<Error> {
                match code {
                    $($code => Some(Error::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errors! {
    /// The syscall number is not one this kernel knows; in an error reply,
    /// the server has no operation with the request's label.
    NOSYS = 1, "unknown syscall number or operation";
    /// A pointer or length names memory the caller may not use that way.
    FAULT = 2, "bad user address or length";
    /// The handle is not open in the calling process.
    BADHANDLE = 3, "no such handle";
    /// The handle lacks a right the operation needs.
    NORIGHTS = 4, "handle lacks the needed right";
    /// The peer of an IPC operation is gone or the endpoint has no server.
    PEERGONE = 5, "peer is gone";
    /// A message or buffer is longer than the ABI or the receiver allows.
    TOOLONG = 6, "message too long";
    /// A fixed-capacity kernel table is full.
    TABLEFULL = 7, "kernel table full";
    /// An argument is outside its documented range, or reserved bits are set.
    INVAL = 8, "invalid argument";
    /// `reply` with no caller waiting for a reply.
    NOREPLY = 9, "no caller to reply to";
    /// No program of that name is in the boot image.
    NOTFOUND = 10, "no such program";
    /// The kernel has no free memory for the operation.
    NOMEM = 11, "out of memory";
    /// The manifest does not allow this operation.
    DENIED = 12, "not permitted";
    /// No peer arrived before the timeout (or at once, with NONBLOCK).
    TIMEDOUT = 13, "timed out waiting for a peer";
    /// The handle names another kind of object than the operation needs
    /// (a memory object given to `send`, an endpoint to `mem_map_object`).
    WRONGKIND = 14, "handle names another kind of object";
    /// The address range overlaps a mapping, or the object is bound
    /// already (`notify_bind`).
    EXIST = 15, "range overlaps a mapping, or already bound";
}

impl Error {
    /// The value returned in RAX.
    pub const fn to_return(self) -> u64 {
        (self as u64).wrapping_neg()
    }

    /// Splits a RAX value into success or error. Values in the top 4095 are
    /// errors (known or not); everything else is a successful result.
    pub const fn decode(value: u64) -> Result<u64, u64> {
        if value > (-4096i64) as u64 {
            Err(value.wrapping_neg())
        } else {
            Ok(value)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_rax() {
        for &error in Error::ALL {
            let rax = error.to_return();
            assert_eq!(Error::decode(rax), Err(error as u64));
            assert_eq!(Error::from_code(error as u64), Some(error));
            assert!(error.name().starts_with('E'));
        }
        assert_eq!(Error::decode(0), Ok(0));
        assert_eq!(Error::decode(u64::MAX / 2), Ok(u64::MAX / 2));
        assert_eq!(Error::FAULT.name(), "EFAULT");
        assert_eq!(Error::from_code(0), None);
    }

    #[test]
    fn all_is_sorted_and_unique() {
        assert!(Error::ALL.windows(2).all(|w| (w[0] as u16) < (w[1] as u16)));
    }
}
