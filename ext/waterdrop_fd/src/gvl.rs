//! The only place where the GVL is released.
//!
//! [`wait_readable`] waits with `poll(2)` for any of a set of fds to become readable, with
//! the GVL released. Its unblock function writes to an interrupt pipe lent to that one wait
//! (from a small pool) that is part of the poll set, so `Thread#raise`, `Thread#kill`, `Timeout` and Ctrl-C wake it at
//! once; pending interrupts are then delivered by `rb_thread_check_ints` (they raise).
//! The code run without the GVL is a closure over `Send` data only, and panics inside it
//! are caught and resumed after the GVL is back.

use std::os::fd::RawFd;
use std::os::raw::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use magnus::{Error, Ruby};
use parking_lot::Mutex;

use crate::fork;
use crate::pipe::{signal_fd, Pipe};
use nix::errno::Errno;

/// Interrupt pipes not in use, with the fork generation they were made in. A wait borrows
/// one for its whole length (so the unblock function always writes to the pipe that very
/// wait polls, whichever native thread runs the Ruby thread, as under `RUBY_MN_THREADS=1`)
/// and gives it back drained.
static SPARE_INTERRUPTS: Mutex<(u64, Vec<Pipe>)> = Mutex::new((0, Vec::new()));

/// Spare interrupt pipes kept for later waits; more (after a burst of concurrent waits)
/// are closed.
const MAX_SPARE_INTERRUPTS: usize = 16;

/// An interrupt pipe lent to one wait.
struct Interrupt(Option<Pipe>);

impl Interrupt {
    fn take() -> std::io::Result<Self> {
        let generation = fork::generation();
        let spare = {
            let mut spare = SPARE_INTERRUPTS.lock();
            if spare.0 != generation {
                // Pipes made before a fork are closed unread: their bytes may be the parent's.
                spare.1.clear();
                spare.0 = generation;
            }
            spare.1.pop()
        };
        match spare {
            Some(pipe) => Ok(Self(Some(pipe))),
            None => Ok(Self(Some(Pipe::new()?))),
        }
    }

    fn pipe(&self) -> &Pipe {
        self.0.as_ref().expect("lent until dropped")
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        let Some(pipe) = self.0.take() else { return };
        // Ruby calls the unblock function only while the wait is released, so nothing
        // writes to this pipe any more: once drained it is clean for the next wait.
        pipe.drain();
        let mut spare = SPARE_INTERRUPTS.lock();
        if spare.0 == fork::generation() && spare.1.len() < MAX_SPARE_INTERRUPTS {
            spare.1.push(pipe);
        }
    }
}

/// Runs `f` with the GVL released. `wake_fd` is written to by the unblock function.
/// Returns `None` when Ruby did not run `f` because an interrupt was already pending.
fn without_gvl<F, R>(f: F, wake_fd: RawFd) -> Option<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    struct Call<F, R> {
        f: Option<F>,
        result: Option<std::thread::Result<R>>,
    }

    unsafe extern "C" fn trampoline<F, R>(data: *mut c_void) -> *mut c_void
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        // SAFETY: `data` is the `Call` on the caller's stack, alive for the whole call, and
        // only this function touches it while the GVL is released.
        let call = unsafe { &mut *(data as *mut Call<F, R>) };
        if let Some(f) = call.f.take() {
            call.result = Some(catch_unwind(AssertUnwindSafe(f)));
        }
        std::ptr::null_mut()
    }

    unsafe extern "C" fn unblock(data: *mut c_void) {
        // The fd travels as the pointer value; writing one byte is async-signal-safe.
        signal_fd(data as isize as RawFd);
    }

    let mut call: Call<F, R> = Call {
        f: Some(f),
        result: None,
    };
    // SAFETY: `trampoline::<F, R>` matches the data pointer's type; `call` outlives the
    // call; the unblock function only writes one byte to `wake_fd`, the write end of the
    // interrupt pipe lent to this wait, which stays open until after this call returns.
    unsafe {
        rb_sys::rb_thread_call_without_gvl2(
            Some(trampoline::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            Some(unblock),
            wake_fd as isize as *mut c_void,
        );
    }
    match call.result {
        Some(Ok(r)) => Some(r),
        Some(Err(panic)) => resume_unwind(panic),
        None => None,
    }
}

/// What a wait ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// Indexes (into the given fd slice) of the fds that are readable.
    Ready(Vec<usize>),
    TimedOut,
}

/// Waits until one of `fds` is readable or `timeout` passes (`None`: no limit), with the
/// GVL released. Ruby interrupts are delivered: this returns `Err` when the thread was
/// sent `raise`/`kill`, and keeps waiting after a spurious wake-up.
pub fn wait_readable(ruby: &Ruby, fds: &[RawFd], timeout: Option<Duration>) -> Result<Wait, Error> {
    let interrupt = Interrupt::take()
        .map_err(|e| crate::errors::system_error(ruby, format!("waterdrop_fd: pipe: {e}")))?;
    let own = interrupt.pipe().read_fd();
    let wake_fd = interrupt.pipe().write_fd();
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut pollfds = poll_set(fds, own);
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so a short remaining wait is not a busy loop of 0 ms polls.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        for p in pollfds.iter_mut() {
            p.revents = 0;
        }
        let fds_for_poll = PollSet(std::mem::take(&mut pollfds));
        let outcome = without_gvl(
            move || {
                let mut set = fds_for_poll;
                // SAFETY: `set.0` is an owned, correctly sized pollfd array.
                let rc = unsafe {
                    libc::poll(set.0.as_mut_ptr(), set.0.len() as libc::nfds_t, timeout_ms)
                };
                // Read here, on the thread that called poll, before anything else can set it.
                let errno = if rc < 0 {
                    Errno::last()
                } else {
                    Errno::UnknownErrno
                };
                (rc, errno, set)
            },
            wake_fd,
        );
        let interrupted = match outcome {
            None => true,
            Some((rc, errno, set)) => {
                pollfds = set.0;
                if rc < 0 {
                    match errno {
                        // A signal: let Ruby look at it, then wait again.
                        Errno::EINTR | Errno::EAGAIN => true,
                        // EINVAL (more fds than RLIMIT_NOFILE), ENOMEM: waiting again
                        // would fail the same way at once, for ever.
                        other => return Err(poll_error(ruby, other)),
                    }
                } else {
                    let own_fired = pollfds.last().map(|p| p.revents != 0).unwrap_or(false);
                    if own_fired {
                        interrupt.pipe().drain();
                    }
                    let ready: Vec<usize> = pollfds[..fds.len()]
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.revents != 0)
                        .map(|(i, _)| i)
                        .collect();
                    if !ready.is_empty() {
                        return Ok(Wait::Ready(ready));
                    }
                    if rc == 0 && !own_fired {
                        return Ok(Wait::TimedOut);
                    }
                    own_fired
                }
            }
        };
        if pollfds.is_empty() {
            // The call did not run: rebuild the set.
            pollfds = poll_set(fds, own);
        }
        if interrupted {
            ruby.thread_check_ints()?;
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(Wait::TimedOut);
            }
        }
    }
}

/// `poll(2)` failed for a reason other than a signal: `WaterdropFd::SystemError`, named
/// after the errno.
fn poll_error(ruby: &Ruby, errno: Errno) -> Error {
    crate::errors::system_error(
        ruby,
        format!(
            "waterdrop_fd: poll(2) while waiting for readable fds failed: {errno:?} ({})",
            errno.desc()
        ),
    )
}

/// A pollfd array for `fds` plus the wait's interrupt pipe (last).
fn poll_set(fds: &[RawFd], own: RawFd) -> Vec<libc::pollfd> {
    fds.iter()
        .chain(std::iter::once(&own))
        .map(|fd| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect()
}

/// Sleeps for `duration` with the GVL released, interruptible like [`wait_readable`].
pub fn sleep(ruby: &Ruby, duration: Duration) -> Result<(), Error> {
    wait_readable(ruby, &[], Some(duration)).map(|_| ())
}

/// An owned pollfd array, moved into the GVL-free closure and back.
struct PollSet(Vec<libc::pollfd>);
// SAFETY: pollfd is plain data (fd numbers and flags); the Vec is moved, never shared.
unsafe impl Send for PollSet {}
