//! raw-registers: calls each function of libsys's raw layer
//! (`testspec::raw_layer::FUNCTIONS`: `raw::syscall0` to `syscall6`,
//! `raw::ipc`, `raw::int80_syscall3`) with a syscall number the kernel does
//! not know and a value of its own in every argument. The kernel's syscall
//! trace then shows which register each argument reached, which the test
//! (`tests/tests/syscalls.rs`) compares with `abi::regs`. It reports what
//! each call returned (`syscall3=ENOSYS`) and whether `raw::ipc` got its
//! registers back unchanged (`check.ipc_registers_kept`).

#![no_std]
#![no_main]

use libsys::raw::{self, IpcRegs};
use libsys::results::{check, report};
use testprogs::Outcome;
use testspec::raw_layer::{FUNCTIONS, Function};

libsys::entry!(main);

fn call(function: Function) -> Outcome {
    let number = function.number();
    let v = |index| function.value(index);
    // SAFETY: syscall numbers the kernel does not know: it refuses them
    // with ENOSYS and touches nothing; the IPC buffer is never used.
    let rax = unsafe {
        match function {
            Function::Syscall(0) => raw::syscall0(number),
            Function::Syscall(1) => raw::syscall1(number, v(0)),
            Function::Syscall(2) => raw::syscall2(number, v(0), v(1)),
            Function::Syscall(3) => raw::syscall3(number, v(0), v(1), v(2)),
            Function::Syscall(4) => raw::syscall4(number, v(0), v(1), v(2), v(3)),
            Function::Syscall(5) => raw::syscall5(number, v(0), v(1), v(2), v(3), v(4)),
            Function::Syscall(_) => raw::syscall6(number, v(0), v(1), v(2), v(3), v(4), v(5)),
            Function::Ipc => {
                let sent = IpcRegs {
                    handle: v(0),
                    info: v(1),
                    buffer: v(2),
                    capacity: v(3),
                    words: [v(4), v(5), v(6), v(7), v(8), v(9)],
                };
                let mut regs = sent;
                let rax = raw::ipc(number, &mut regs);
                check("ipc_registers_kept", regs == sent);
                rax
            }
            Function::Int80 => raw::int80_syscall3(number, v(0), v(1), v(2)),
        }
    };
    Outcome(rax)
}

fn main() {
    for function in FUNCTIONS {
        report(function.key(), call(function));
    }
}
