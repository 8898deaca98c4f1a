//! `WaterdropFd::Native::Poller`: the FD poller. One Ruby thread per poller runs [`Poller::run`]:
//! it waits (GVL released, in `gvl.rs`) on every registered producer's io-event pipe plus
//! a control pipe, and serves the producers whose pipe fired, with the GVL held.
//!
//! The FD contract it keeps (librdkafka writes to a queue's pipe once per non-polling
//! period, and only when the queue turns non-empty):
//! * after every wake-up the producer's queue is served, not only the pipe drained;
//! * right after io events are enabled the queue is served once (a queue that was already
//!   non-empty never writes);
//! * a drain cut short by `max_time` signals the producer's pipe itself;
//! * on a wait timeout (`poll_timeout`) every producer is served, and when some producers
//!   are busy the others are served once their `periodic_poll_interval` has passed;
//! * register, unregister and shutdown write to the control pipe, so the loop notices at once;
//! * io events are disabled (fd -1) before a producer's pipe is closed;
//! * closing a producer waits on a completion pipe, never by spinning.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use magnus::gc::Marker;
use magnus::value::Opaque;
use magnus::{prelude::*, DataTypeFunctions, Error as RbError, RModule, Ruby, TypedData};
use parking_lot::Mutex;

use crate::errors::{Error, Result};
use crate::fork;
use crate::gvl::{self, Wait};
use crate::pipe::Pipe;
use crate::producer::{ProducerCore, ProducerObj};

thread_local! {
    static CURRENT_POLLER: Cell<Option<u64>> = const { Cell::new(None) };
}

/// One registered producer, as the loop sees it.
struct Slot {
    core: Arc<ProducerCore>,
    pipe: Pipe,
    max_time: Duration,
    periodic: Duration,
    last_poll: Mutex<Instant>,
    needs_serve: AtomicBool,
    closing: AtomicBool,
    completion: Mutex<Option<Arc<Pipe>>>,
}

impl Slot {
    fn serve(&self, ruby: &Ruby) -> std::result::Result<(), RbError> {
        let started = Instant::now();
        let drained = self.core.serve(ruby, started + self.max_time)?;
        *self.last_poll.lock() = Instant::now();
        if !drained {
            // librdkafka will not write again until the queue was served empty.
            self.pipe.signal();
        }
        Ok(())
    }

    /// Serves everything that is queued now, without a time limit (final drain on close).
    fn serve_all(&self, ruby: &Ruby) -> std::result::Result<(), RbError> {
        loop {
            if self
                .core
                .serve(ruby, Instant::now() + Duration::from_secs(1))?
            {
                return Ok(());
            }
        }
    }

    fn stale(&self, now: Instant) -> bool {
        now.duration_since(*self.last_poll.lock()) >= self.periodic
    }

    fn finish_close(&self) {
        if let Some(c) = self.completion.lock().take() {
            c.signal();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Disable io events before the pipe closes, so librdkafka never writes to a reused
        // fd number. A no-op for a closed or inherited client.
        let _ = self.core.client.set_io_event_fd(-1);
    }
}

struct Entry {
    producer: Opaque<ProducerObj>,
    slot: Arc<Slot>,
}

struct State {
    generation: u64,
    /// Exists only while the loop runs (a stopped poller holds no fds).
    control: Option<Arc<Pipe>>,
    entries: Vec<Entry>,
    /// Entries taken out of `entries` that the loop is closing (still marked).
    retiring: Vec<Entry>,
    version: u64,
    running: bool,
    shutdown: bool,
}

#[derive(TypedData)]
#[magnus(class = "WaterdropFd::Native::Poller", free_immediately, size, mark)]
pub struct Poller {
    id: u64,
    state: Mutex<State>,
}

impl DataTypeFunctions for Poller {
    fn mark(&self, marker: &Marker) {
        // Only GVL threads take this lock, and never across a Ruby call: free during GC.
        if let Some(state) = self.state.try_lock() {
            for e in state.entries.iter().chain(state.retiring.iter()) {
                marker.mark(e.producer);
            }
        }
    }
}

/// Entries being closed, and slots that need their first serve, from one look at the
/// registry.
type Changes = (Vec<Entry>, Vec<Arc<Slot>>);

/// What the loop works on between two looks at the registry.
struct Snapshot {
    version: u64,
    slots: Vec<Arc<Slot>>,
    fds: Vec<RawFd>,
    control: Arc<Pipe>,
}

impl Poller {
    fn new(id: u64) -> Result<Self> {
        Ok(Self {
            id,
            state: Mutex::new(State {
                generation: fork::generation(),
                control: None,
                entries: Vec::new(),
                retiring: Vec::new(),
                version: 0,
                running: false,
                shutdown: false,
            }),
        })
    }

    /// After a fork the registry, the pipes and the thread belong to the parent: forget
    /// them (pipes are closed unread, clients are left alone) and start clean.
    fn reset_if_forked(state: &mut State) -> Result<()> {
        if state.generation == fork::generation() {
            return Ok(());
        }
        state.entries.clear();
        state.retiring.clear();
        state.control = None;
        state.generation = fork::generation();
        state.running = false;
        state.shutdown = false;
        state.version += 1;
        Ok(())
    }

    /// Adds a producer. Returns true when the caller must start the poller thread.
    fn register(
        rb_self: &Self,
        producer: ProducerObj,
        max_time_ms: u64,
        periodic_ms: u64,
    ) -> Result<bool> {
        let core = Arc::clone(&producer.core);
        let pipe = Pipe::new()?;
        core.client.set_io_event_fd(pipe.write_fd())?;
        let slot = Arc::new(Slot {
            core,
            pipe,
            max_time: Duration::from_millis(max_time_ms.max(1)),
            periodic: Duration::from_millis(periodic_ms.max(1)),
            last_poll: Mutex::new(Instant::now()),
            needs_serve: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            completion: Mutex::new(None),
        });
        let mut state = rb_self.state.lock();
        Self::reset_if_forked(&mut state)?;
        if state
            .entries
            .iter()
            .any(|e| Arc::ptr_eq(&e.slot.core, &slot.core))
        {
            return Err(Error::Argument(
                "this producer is already registered with this poller".into(),
            ));
        }
        state.entries.push(Entry {
            producer: producer.into(),
            slot,
        });
        state.version += 1;
        state.shutdown = false;
        let control = match &state.control {
            Some(c) => Arc::clone(c),
            None => {
                let c = Arc::new(Pipe::new()?);
                state.control = Some(Arc::clone(&c));
                c
            }
        };
        control.signal();
        let start = !state.running;
        state.running = true;
        Ok(start)
    }

    /// Removes a producer after serving what is left in its queue. From any thread but the
    /// poller's own, waits (GVL released) until the loop has let go of it. From the poller
    /// thread (a callback closing its producer) it only asks, and returns at once.
    fn unregister(ruby: &Ruby, rb_self: &Self, producer: ProducerObj) -> Result<bool> {
        let completion = Arc::new(Pipe::new()?);
        {
            let mut state = rb_self.state.lock();
            Self::reset_if_forked(&mut state)?;
            let Some(entry) = state
                .entries
                .iter()
                .find(|e| Arc::ptr_eq(&e.slot.core, &producer.core))
            else {
                return Ok(false);
            };
            let slot = Arc::clone(&entry.slot);
            *slot.completion.lock() = Some(Arc::clone(&completion));
            slot.closing.store(true, Ordering::Release);
            if let Some(c) = &state.control {
                c.signal();
            }
            if Self::on_this_poller(rb_self.id) {
                return Ok(true);
            }
            if !state.running {
                drop(state);
                Self::retire_now(ruby, rb_self, &producer)?;
                return Ok(true);
            }
        }
        loop {
            let step = Some(Duration::from_millis(100));
            if let Wait::Ready(_) = gvl::wait_readable(ruby, &[completion.read_fd()], step)? {
                return Ok(true);
            }
            // The loop may have died (killed thread): never wait for ever on it.
            let running = rb_self.state.lock().running;
            if !running {
                Self::retire_now(ruby, rb_self, &producer)?;
                return Ok(true);
            }
        }
    }

    /// Removes a producer on the calling thread (no poller thread is running).
    fn retire_now(ruby: &Ruby, rb_self: &Self, producer: &ProducerObj) -> Result<()> {
        let entry = {
            let mut state = rb_self.state.lock();
            let Some(pos) = state
                .entries
                .iter()
                .position(|e| Arc::ptr_eq(&e.slot.core, &producer.core))
            else {
                return Ok(());
            };
            let e = state.entries.remove(pos);
            state.version += 1;
            e
        };
        let r = entry.slot.serve_all(ruby);
        entry.slot.finish_close();
        drop(entry);
        r.map_err(Error::Ruby)
    }

    fn on_this_poller(id: u64) -> bool {
        CURRENT_POLLER.with(|c| c.get() == Some(id))
    }

    fn in_poller_thread(rb_self: &Self) -> bool {
        Self::on_this_poller(rb_self.id)
    }

    fn count(rb_self: &Self) -> usize {
        let mut state = rb_self.state.lock();
        let _ = Self::reset_if_forked(&mut state);
        state.entries.len()
    }

    fn is_running(rb_self: &Self) -> bool {
        let state = rb_self.state.lock();
        state.running && state.generation == fork::generation()
    }

    /// Asks the loop to stop; `clear` then drops every registration.
    fn shutdown(rb_self: &Self) {
        let mut state = rb_self.state.lock();
        state.shutdown = true;
        if let Some(c) = &state.control {
            c.signal();
        }
    }

    /// Drops every registration (io events disabled, pipes closed). Test helper.
    fn clear(rb_self: &Self) -> usize {
        let entries = {
            let mut state = rb_self.state.lock();
            state.version += 1;
            state.running = false;
            std::mem::take(&mut state.entries)
        };
        for e in &entries {
            e.slot.finish_close();
        }
        entries.len()
    }

    /// Marks the loop as stopped when it ended abnormally (the Ruby side calls this from
    /// an `ensure`), so the next register starts a new thread.
    fn stopped(rb_self: &Self) {
        rb_self.state.lock().running = false;
    }

    /// Takes a new look at the registry. `None` means: stop the loop.
    fn snapshot(&self, cached: &mut Option<Snapshot>) -> Result<Option<Changes>> {
        let mut state = self.state.lock();
        Self::reset_if_forked(&mut state)?;
        if state.shutdown || state.entries.is_empty() {
            state.running = false;
            // Closed once the loop drops its snapshot: an idle poller keeps no fds open.
            state.control = None;
            return Ok(None);
        }
        let control = match &state.control {
            Some(c) => Arc::clone(c),
            None => {
                let c = Arc::new(Pipe::new()?);
                state.control = Some(Arc::clone(&c));
                c
            }
        };
        let mut closing = Vec::new();
        let mut i = 0;
        while i < state.entries.len() {
            if state.entries[i].slot.closing.load(Ordering::Acquire) {
                let e = state.entries.remove(i);
                closing.push(Entry {
                    producer: e.producer,
                    slot: Arc::clone(&e.slot),
                });
                state.retiring.push(e);
            } else {
                i += 1;
            }
        }
        if !closing.is_empty() {
            state.version += 1;
        }
        let fresh: Vec<Arc<Slot>> = state
            .entries
            .iter()
            .filter(|e| e.slot.needs_serve.swap(false, Ordering::AcqRel))
            .map(|e| Arc::clone(&e.slot))
            .collect();
        if cached.as_ref().map(|s| s.version) != Some(state.version) {
            let slots: Vec<Arc<Slot>> = state.entries.iter().map(|e| Arc::clone(&e.slot)).collect();
            let mut fds: Vec<RawFd> = slots.iter().map(|s| s.pipe.read_fd()).collect();
            fds.push(control.read_fd());
            *cached = Some(Snapshot {
                version: state.version,
                slots,
                fds,
                control,
            });
        }
        Ok(Some((closing, fresh)))
    }

    fn finish_retiring(&self, done: &[Entry]) {
        let mut state = self.state.lock();
        state
            .retiring
            .retain(|e| !done.iter().any(|d| Arc::ptr_eq(&d.slot, &e.slot)));
    }

    /// The polling loop; returns when the last producer left or on shutdown. Runs on the
    /// poller's Ruby thread.
    fn run(ruby: &Ruby, rb_self: &Self, poll_timeout_ms: u64) -> std::result::Result<(), RbError> {
        let _mark = CurrentPoller::enter(rb_self.id);
        let poll_timeout = Duration::from_millis(poll_timeout_ms.max(1));
        let mut cached: Option<Snapshot> = None;
        loop {
            let Some((closing, fresh)) = rb_self
                .snapshot(&mut cached)
                .map_err(|e| magnus::error::IntoError::into_error(e, ruby))?
            else {
                return Ok(());
            };
            for e in &closing {
                let r = e.slot.serve_all(ruby);
                e.slot.finish_close();
                if let Err(err) = r {
                    rb_self.finish_retiring(&closing);
                    return Err(err);
                }
            }
            if !closing.is_empty() {
                rb_self.finish_retiring(&closing);
                drop(closing);
                continue;
            }
            for slot in &fresh {
                slot.serve(ruby)?;
            }
            let snap = cached.as_ref().expect("snapshot taken");
            let wait = gvl::wait_readable(ruby, &snap.fds, Some(poll_timeout))?;
            let snap = cached.as_ref().expect("snapshot taken");
            match wait {
                Wait::TimedOut => {
                    for slot in &snap.slots {
                        slot.serve(ruby)?;
                    }
                }
                Wait::Ready(ready) => {
                    let control_index = snap.slots.len();
                    let mut served = vec![false; snap.slots.len()];
                    for i in ready {
                        if i == control_index {
                            snap.control.drain();
                            continue;
                        }
                        let slot = &snap.slots[i];
                        if slot.closing.load(Ordering::Acquire) {
                            continue; // handled (with a final drain) at the top of the loop
                        }
                        slot.pipe.drain();
                        slot.serve(ruby)?;
                        served[i] = true;
                    }
                    if snap.slots.len() > 1 && served.iter().any(|s| *s) {
                        let now = Instant::now();
                        for (i, slot) in snap.slots.iter().enumerate() {
                            if !served[i]
                                && !slot.closing.load(Ordering::Acquire)
                                && slot.stale(now)
                            {
                                slot.serve(ruby)?;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Marks the current thread as the given poller's thread while the loop runs.
struct CurrentPoller;

impl CurrentPoller {
    fn enter(id: u64) -> Self {
        CURRENT_POLLER.with(|c| c.set(Some(id)));
        CurrentPoller
    }
}

impl Drop for CurrentPoller {
    fn drop(&mut self) {
        CURRENT_POLLER.with(|c| c.set(None));
    }
}

pub fn init(ruby: &Ruby, native: &RModule) -> std::result::Result<(), RbError> {
    let class = native.define_class("Poller", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("new", magnus::function!(Poller::new, 1))?;
    class.define_method("register", magnus::method!(Poller::register, 3))?;
    class.define_method("unregister", magnus::method!(Poller::unregister, 1))?;
    class.define_method("run", magnus::method!(Poller::run, 1))?;
    class.define_method("count", magnus::method!(Poller::count, 0))?;
    class.define_method("running?", magnus::method!(Poller::is_running, 0))?;
    class.define_method(
        "in_poller_thread?",
        magnus::method!(Poller::in_poller_thread, 0),
    )?;
    class.define_method("shutdown", magnus::method!(Poller::shutdown, 0))?;
    class.define_method("clear", magnus::method!(Poller::clear, 0))?;
    class.define_method("stopped", magnus::method!(Poller::stopped, 0))?;
    Ok(())
}
