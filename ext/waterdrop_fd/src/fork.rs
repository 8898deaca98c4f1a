//! Fork awareness: one per-process *epoch* and the gates that keep `fork` out of
//! librdkafka's critical sections.
//!
//! * The **epoch** (fork generation) is a counter bumped in every child by the
//!   `pthread_atfork` child handler installed here. It covers every way a process forks
//!   (`Process.fork`, `IO.popen("-")`, `Process.daemon`, forks made by other native code).
//!   Everything that belongs to one process records the epoch it was made in and treats
//!   itself as inherited (dead) when the number differs: librdkafka clients, pipes and
//!   pollers here, and on the Ruby side every producer's per-process state (its client, its
//!   poller and its operations counter, reset in one place: `WaterDrop::Producer#adopt_process`)
//!   and the Ruby poller's registry (`WaterDrop::Polling::Poller`). Ruby reads it with
//!   `WaterdropFd::Native.fork_generation`.
//! * The **lifecycle gate**: `rd_kafka_new` / `rd_kafka_destroy` pass it (shared), fork
//!   closes it, so no child is born while another thread is inside librdkafka's global
//!   lock (which would stay locked for ever in the child).
//! * The **resolve gate**: librdkafka's broker threads resolve addresses inside it (shared),
//!   fork closes it after the lifecycle gate, so no child is born while one of them is
//!   inside `getaddrinfo` (glibc's interface-list lock would stay locked in the child; see
//!   `kafka::resolve`). It is separate from the lifecycle gate because `rd_kafka_destroy`
//!   stays in that one while it waits for broker threads that may be resolving.
//!
//! A gate is two atomics, not a lock (DESIGN.md rule 13a): a count of threads inside and
//! a "fork pending" flag. The child handler resets both with plain stores. A lock would
//! have to be unlocked in the child, and a lock whose unlock hands it over to queued
//! waiters (parking_lot's does) hands it to threads of the parent that do not exist in the
//! child: the child's own next `fork` then waits for them for ever. Waiting (threads at a
//! closed gate, fork for the threads inside) spins briefly and then sleeps in short steps,
//! so no waiter is ever queued anywhere.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Set while one thread prepares a fork (only one fork is prepared at a time).
static FORKING: AtomicBool = AtomicBool::new(false);
static LIFECYCLE: ForkGate = ForkGate::new();
static RESOLVE: ForkGate = ForkGate::new();
static INSTALL: Once = Once::new();

/// The current fork epoch (0 in the process that loaded the extension, one more in each
/// generation of children).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Starts a new epoch in a child that the `pthread_atfork` handler did not see (the
/// `Process._fork` hook calls it when the epoch did not move across a fork). Returns it.
pub fn advance_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::SeqCst) + 1
}

/// Held around `rd_kafka_new` and `rd_kafka_destroy`: fork waits until no thread is inside.
pub fn lifecycle_guard() -> GateGuard {
    LIFECYCLE.enter()
}

/// Held around every address resolution of librdkafka's broker threads.
pub fn resolve_guard() -> GateGuard {
    RESOLVE.enter()
}

/// A gate that many threads pass at once and that a fork closes: the fork waits until the
/// threads inside have left, and threads arriving meanwhile wait until the fork is done.
/// Not re-entrant: a thread inside must not enter the same gate again (a fork pending in
/// between would wait for it while it waits for the fork).
pub struct ForkGate {
    inside: AtomicUsize,
    fork_pending: AtomicBool,
}

/// A thread's pass through a [`ForkGate`]; leaving is dropping it.
#[must_use = "the gate is left when the guard is dropped"]
pub struct GateGuard {
    gate: &'static ForkGate,
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.gate.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ForkGate {
    const fn new() -> Self {
        Self {
            inside: AtomicUsize::new(0),
            fork_pending: AtomicBool::new(false),
        }
    }

    fn enter(&'static self) -> GateGuard {
        let mut backoff = Backoff::default();
        loop {
            while self.fork_pending.load(Ordering::SeqCst) {
                backoff.snooze();
            }
            // Announce, then look again: with both sides SeqCst, either the fork sees this
            // thread inside, or this thread sees the fork pending and steps back.
            self.inside.fetch_add(1, Ordering::SeqCst);
            if !self.fork_pending.load(Ordering::SeqCst) {
                return GateGuard { gate: self };
            }
            self.inside.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Closes the gate and waits until every thread inside has left (fork side).
    fn close(&self) {
        self.fork_pending.store(true, Ordering::SeqCst);
        let mut backoff = Backoff::default();
        while self.inside.load(Ordering::SeqCst) != 0 {
            backoff.snooze();
        }
    }

    /// Opens the gate again (in the parent, after fork).
    fn open(&self) {
        self.fork_pending.store(false, Ordering::SeqCst);
    }

    /// The child's copy: nobody is inside (the threads that were are the parent's), no fork
    /// is pending. Plain stores only.
    fn reset_in_child(&self) {
        self.inside.store(0, Ordering::SeqCst);
        self.fork_pending.store(false, Ordering::SeqCst);
    }
}

/// Spins a little, then yields, then sleeps in steps of up to 1 ms. Waits here are short
/// and rare (a fork, or an `rd_kafka_new`/`destroy` that a fork waits for).
#[derive(Default)]
struct Backoff {
    turns: u32,
}

impl Backoff {
    fn snooze(&mut self) {
        self.turns = self.turns.saturating_add(1);
        if self.turns <= 64 {
            std::hint::spin_loop();
        } else if self.turns <= 128 {
            std::thread::yield_now();
        } else {
            let micros = (50u64 << ((self.turns - 128).min(5))).min(1_000);
            std::thread::sleep(Duration::from_micros(micros));
        }
    }
}

extern "C" fn prepare() {
    let mut backoff = Backoff::default();
    while FORKING
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        backoff.snooze();
    }
    LIFECYCLE.close();
    RESOLVE.close();
}

extern "C" fn parent() {
    RESOLVE.open();
    LIFECYCLE.open();
    FORKING.store(false, Ordering::SeqCst);
}

extern "C" fn child() {
    // Only the forking thread exists here: reset with plain stores (async-signal-safe).
    GENERATION.fetch_add(1, Ordering::SeqCst);
    RESOLVE.reset_in_child();
    LIFECYCLE.reset_in_child();
    FORKING.store(false, Ordering::SeqCst);
}

/// Installs the `pthread_atfork` handlers once per process.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the handlers are plain `extern "C"` functions without captured state; they
        // touch only the atomics of this module (and `prepare` may sleep, which is allowed
        // before fork). `child` does nothing but atomic stores and one atomic add.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if rc != 0 {
            eprintln!("waterdrop_fd: pthread_atfork failed ({rc}); only Ruby forks (Process._fork) will be detected");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    static TEST_GATE: ForkGate = ForkGate::new();

    #[test]
    fn gates_are_shared() {
        let a = lifecycle_guard();
        let b = lifecycle_guard();
        drop((a, b));
    }

    #[test]
    fn a_closed_gate_waits_for_the_threads_inside_and_holds_new_ones_back() {
        let inside = TEST_GATE.enter();
        let closed = Arc::new(AtomicBool::new(false));
        let closer = {
            let closed = Arc::clone(&closed);
            std::thread::spawn(move || {
                TEST_GATE.close();
                closed.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !closed.load(Ordering::SeqCst),
            "fork went on with a thread inside"
        );
        drop(inside);
        closer.join().unwrap();
        assert!(closed.load(Ordering::SeqCst));

        let entered = Arc::new(AtomicBool::new(false));
        let arriving = {
            let entered = Arc::clone(&entered);
            std::thread::spawn(move || {
                let _g = TEST_GATE.enter();
                entered.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !entered.load(Ordering::SeqCst),
            "a thread entered during the fork"
        );
        TEST_GATE.open();
        arriving.join().unwrap();
        assert!(entered.load(Ordering::SeqCst));
    }

    #[test]
    fn the_child_reset_forgets_threads_that_were_inside_or_waiting() {
        static GATE: ForkGate = ForkGate::new();
        let held = GATE.enter();
        GATE.fork_pending.store(true, Ordering::SeqCst);
        GATE.reset_in_child();
        std::mem::forget(held); // the parent's thread: it never leaves in the child
        drop(GATE.enter());
        GATE.close();
        GATE.open();
    }
}
