//! Ending waits: waking a thread with an error as its syscall result, and
//! freeing a zombie once its notice is delivered (or cannot be).

use crate::ipc::message::Outgoing;
use crate::kernel::Kernel;
use crate::machine::Machine;
use crate::sched::RunState;
use abi::Error;

/// Wakes `thread` from an IPC wait with `error` as its syscall result; a
/// zombie whose notice cannot be delivered is logged and freed instead.
pub fn fail<M: Machine>(k: &mut Kernel<M>, thread: usize, error: Error) {
    match k.sched.state(thread) {
        RunState::Zombie => log_and_reap(k, thread),
        RunState::Blocked => {
            k.frame_mut(thread).set_result(Err(error));
            k.sched.wake(thread);
        }
        state => panic!("waking thread {thread} in state {state:?}"),
    }
}

/// Logs a zombie's notice, then frees it.
pub fn log_and_reap<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    if let Some(notice) = k.thread(thread).outgoing.notice() {
        crate::info!("{notice}");
    }
    reap(k, thread);
}

/// Frees the slots of a zombie whose notice was delivered.
pub fn reap<M: Machine>(k: &mut Kernel<M>, thread: usize) {
    let slot = k.thread(thread).process;
    k.processes[slot].pid = 0;
    k.sched.free(thread);
    k.thread_mut(thread).outgoing = Outgoing::Message;
}
