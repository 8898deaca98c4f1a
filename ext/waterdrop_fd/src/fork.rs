//! Fork awareness.
//!
//! * A fork *generation* counter, bumped in the child by a `pthread_atfork` handler (so it
//!   also covers `Process.daemon` and forks made by other native code) and by the Ruby
//!   `Process._fork` hook (`WaterdropFd::Native.after_fork_child`). Everything native that
//!   belongs to one process (librdkafka handles, pipes, pollers) records the generation it
//!   was made in and treats itself as inherited (dead) when the number differs.
//! * A *lifecycle lock*: `rd_kafka_new` / `rd_kafka_destroy` take it shared, fork takes it
//!   exclusive, so no child is born while another thread is inside librdkafka's global
//!   lock (which would leave it locked for ever in the child).
//! * A *resolve lock*: librdkafka's broker threads resolve addresses under it (shared), fork
//!   takes it exclusive after the lifecycle lock, so no child is born while one of them is
//!   inside `getaddrinfo` (glibc's interface-list lock would stay locked in the child; see
//!   `kafka::resolve`). It is separate from the lifecycle lock because `rd_kafka_destroy`
//!   holds that one while it waits for broker threads that may be resolving.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use parking_lot::lock_api::RawRwLock as _;
use parking_lot::{RawRwLock, RwLock, RwLockReadGuard};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static LIFECYCLE: RwLock<()> = RwLock::new(());
static RESOLVE: RwLock<()> = RwLock::new(());
static INSTALL: Once = Once::new();

/// The current fork generation (0 in the process that loaded the extension).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Marks this process as a new generation. Idempotent per fork thanks to the pid check
/// done by callers; calling it twice only makes more things look inherited, never fewer.
pub fn bump_generation() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Held (shared) around `rd_kafka_new` and `rd_kafka_destroy`.
pub fn lifecycle_guard() -> RwLockReadGuard<'static, ()> {
    LIFECYCLE.read()
}

/// Held (shared) around every address resolution of librdkafka's broker threads.
pub fn resolve_guard() -> RwLockReadGuard<'static, ()> {
    RESOLVE.read()
}

fn raw_lock() -> &'static RawRwLock {
    // SAFETY: we only use the raw lock for the exclusive lock/unlock pair around fork,
    // which is balanced by the parent and child handlers below.
    unsafe { LIFECYCLE.raw() }
}

fn raw_resolve_lock() -> &'static RawRwLock {
    // SAFETY: as for `raw_lock`: a balanced exclusive pair around fork only.
    unsafe { RESOLVE.raw() }
}

extern "C" fn prepare() {
    raw_lock().lock_exclusive();
    raw_resolve_lock().lock_exclusive();
}

extern "C" fn parent() {
    // SAFETY: `prepare` took both exclusive locks in this same thread just before fork.
    unsafe {
        raw_resolve_lock().unlock_exclusive();
        raw_lock().unlock_exclusive();
    }
}

extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    // SAFETY: the forking thread (the only thread in the child) took both in `prepare`.
    unsafe {
        raw_resolve_lock().unlock_exclusive();
        raw_lock().unlock_exclusive();
    }
}

/// Installs the `pthread_atfork` handlers once per process.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the handlers are plain `extern "C"` functions without captured state that
        // only touch atomics and the lifecycle lock.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if rc != 0 {
            eprintln!(
                "waterdrop_fd: pthread_atfork failed ({rc}); fork detection relies on pid checks"
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_changes_only_when_bumped() {
        let g = generation();
        assert_eq!(generation(), g);
        bump_generation();
        assert_eq!(generation(), g + 1);
    }

    #[test]
    fn lifecycle_guard_is_shared() {
        let a = lifecycle_guard();
        let b = lifecycle_guard();
        drop((a, b));
    }
}
