//! Blocking librdkafka calls (flush, destroy, transactions, metadata) never run on a Ruby
//! thread. Each runs on a short-lived native worker thread; the Ruby caller waits for the
//! worker's completion pipe through [`crate::gvl::wait_readable`], so the wait releases the
//! GVL, honours a timeout and can be interrupted (`Thread#raise`, `Thread#kill`).
//!
//! If the caller stops waiting (timeout or interrupt) the job still runs to its end on the
//! worker; its result is dropped.

use std::sync::Arc;
use std::time::Duration;

use magnus::{Error, Ruby};
use parking_lot::Mutex;

use crate::gvl::{self, Wait};
use crate::pipe::Pipe;

struct Completion<R> {
    pipe: Pipe,
    result: Mutex<Option<R>>,
}

/// Runs `job` on a new worker thread and waits for it. Returns `Ok(None)` on timeout.
pub fn run<R, F>(
    ruby: &Ruby,
    name: &str,
    timeout: Option<Duration>,
    job: F,
) -> Result<Option<R>, Error>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let completion = Arc::new(Completion {
        pipe: Pipe::new().map_err(|e| io_error(ruby, e))?,
        result: Mutex::new(None),
    });
    let theirs = Arc::clone(&completion);
    std::thread::Builder::new()
        .name(format!("waterdrop.{name}"))
        .spawn(move || {
            let value = job();
            *theirs.result.lock() = Some(value);
            theirs.pipe.signal();
        })
        .map_err(|e| io_error(ruby, e))?;
    let fd = completion.pipe.read_fd();
    loop {
        match gvl::wait_readable(ruby, &[fd], timeout)? {
            Wait::TimedOut => return Ok(None),
            Wait::Ready(_) => {
                if let Some(v) = completion.result.lock().take() {
                    return Ok(Some(v));
                }
                // A byte without a result cannot happen (the result is stored first), but
                // never spin on it: drain and wait again.
                completion.pipe.drain();
            }
        }
    }
}

/// Starts `job` on a worker thread and returns at once (used where nobody may wait, e.g.
/// a close requested from the poller thread or by the GC).
pub fn detach<F>(name: &str, job: F) -> std::io::Result<()>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(format!("waterdrop.{name}"))
        .spawn(job)
        .map(|_| ())
}

fn io_error(ruby: &Ruby, e: std::io::Error) -> Error {
    crate::errors::system_error(ruby, format!("waterdrop_fd: could not start a worker: {e}"))
}
