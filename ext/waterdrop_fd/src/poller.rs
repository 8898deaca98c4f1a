//! `WaterdropFd::Native::Poller`: the FD poller. One Ruby thread per poller runs [`Poller::run`]:
//! it waits (GVL released, in `gvl.rs`) on every registered producer's io-event pipe plus
//! a control pipe, and serves the producers whose pipe fired, with the GVL held.
//!
//! # The FD contract
//! librdkafka writes to a queue's pipe once per non-polling period, and only when the queue
//! turns non-empty. So:
//! * after every wake-up the producer's queue is served, not only the pipe drained;
//! * right after io events are enabled, and whenever a loop (re)starts, every queue is
//!   served once (a queue that was already non-empty never writes);
//! * a drain cut short by `max_time` signals the producer's pipe itself;
//! * on a wait timeout (`poll_timeout`) every producer is served, and when some producers
//!   are busy the others are served once their `periodic_poll_interval` has passed;
//! * register, unregister and shutdown write to the control pipe, so the loop notices at once;
//! * io events are turned off (fd -1) before a producer's pipe is closed, and before its
//!   `unregister` returns (so before its client can be destroyed);
//! * waiting for a producer to be let go is a wait on a pipe, never a spin; only while a
//!   destroy holds its client is the retire retried on a timer (`RETIRE_RETRY`), and the
//!   loop serves every other producer meanwhile.
//!
//! # The poller's life: one owner
//! `State::thread` alone says whether a loop owns the registry, and only this file changes
//! it, under the state lock. The Ruby side (`lib/waterdrop/polling/poller.rb`) never writes
//! it; it starts a Ruby thread when told to, with the token it was given:
//!
//! ```text
//!            register (first producer) -> Some(token): Ruby starts a thread
//!   Idle ───────────────────────────────────────────────────────────────▶ Owned(token)
//!   (thread None)                                                        (thread Some)
//!     ▲  run(token) returns Ok: the last producer left, or `shutdown` was asked │
//!     ├──────────────────────────────────────────────────────────────────────┤
//!     │  run(token) raised a StandardError: still Owned; Ruby backs off and   │
//!     │  calls run(token) again, which serves every producer once first       │
//!     │                                                                       │
//!     │  the thread ended otherwise (Thread#kill, a non-StandardError):       │
//!     │  Ruby's `ensure` calls thread_ended(token, may_restart):              │
//!     └─ no producer left, shutdown asked, or the process exits ◀────────────┤
//!                        producers left: Owned(new token), Ruby starts a new  ┘
//!                        thread at once (their reports are not orphaned)
//! ```
//! A `run` or `thread_ended` with a token that no longer owns the registry does nothing.
//!
//! # Unregistering a producer
//! `unregister` sets the slot's `closing` flag and waits on a pipe of its own. Whoever owns
//! the loop (or, when no thread owns it, the unregistering thread itself) *retires* the
//! slot: it moves the entry to `retiring` (still marked), serves what is left in the queue,
//! turns io events off, removes the entry and signals every waiting unregister. A retire
//! that is cut short puts the entry back, and so does one whose io events cannot be turned
//! off yet because a destroy holds the client (`ClientError::Busy`): it is retried after
//! `RETIRE_RETRY`, never in a loop that holds the GVL. A client already destroyed counts as
//! off. A second `unregister` of the same producer waits for the first. From a listener on the poller thread, `unregister` only asks, and
//! returns at once (`close` hands the rest to another thread).
//!
//! # Waits on the poller thread (DESIGN.md rule 13b)
//! Listeners run on this thread, so anything they wait for that only this thread can serve
//! would never come. [`current_thread_serves`] tells a delivery handle whether that is the
//! case; the Ruby side then raises `WaterdropFd::PollerThreadWaitError` at once.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use magnus::gc::Marker;
use magnus::value::{Opaque, ReprValue};
use magnus::{prelude::*, DataTypeFunctions, Error as RbError, RModule, Ruby, TypedData};
use parking_lot::Mutex;

use crate::errors::{Error, Result};
use crate::fork;
use crate::gvl;
use crate::pipe::Pipe;
use crate::producer::{ProducerCore, ProducerObj};

/// How long a retire waits before it tries again when a destroy holds the client (its io
/// events cannot be confirmed off until the destroy returned).
const RETIRE_RETRY: Duration = Duration::from_millis(10);

thread_local! {
    /// (fork epoch, poller id) of the loop this thread runs. The epoch: a listener that
    /// forks leaves this set in the child's only thread, which runs no loop.
    static CURRENT_POLLER: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// Whether the current thread runs the loop of poller `id` (a listener is being called).
pub fn current_thread_serves(id: u64) -> bool {
    id != ServedBy::NONE && current_poller() == Some(id)
}

/// Whether the current thread runs the loop of any poller.
pub fn on_a_poller_thread() -> bool {
    current_poller().is_some()
}

/// The poller whose loop this thread runs, in this process.
fn current_poller() -> Option<u64> {
    match CURRENT_POLLER.with(Cell::get) {
        Some((generation, id)) if generation == fork::generation() => Some(id),
        _ => None,
    }
}

/// The id of the poller a producer is registered with, for its delivery handles.
#[derive(Debug)]
pub struct ServedBy(AtomicU64);

impl ServedBy {
    const NONE: u64 = u64::MAX;

    /// The poller's id, or a value no poller has while unregistered.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, id: Option<u64>) {
        self.0.store(id.unwrap_or(Self::NONE), Ordering::Release);
    }
}

impl Default for ServedBy {
    fn default() -> Self {
        Self(AtomicU64::new(Self::NONE))
    }
}

/// One registered producer, as the loop sees it.
struct Slot {
    core: Arc<ProducerCore>,
    /// Never closed while librdkafka may write to it (see `Drop`).
    pipe: ManuallyDrop<Pipe>,
    io_events: AtomicBool,
    max_time: Duration,
    periodic: Duration,
    last_poll: Mutex<Instant>,
    needs_serve: AtomicBool,
    closing: AtomicBool,
    /// Pipes of the `unregister` calls waiting for this slot, signalled when it was
    /// retired (or when they must look again: the loop ended).
    waiting: Mutex<Vec<Arc<Pipe>>>,
}

impl Slot {
    fn serve(&self, ruby: &Ruby) -> std::result::Result<(), RbError> {
        let started = Instant::now();
        let drained = self.core.serve(ruby, started + self.max_time);
        *self.last_poll.lock() = Instant::now();
        match drained {
            // librdkafka will not write again until the queue was served empty.
            Ok(false) => self.pipe.signal(),
            Ok(true) => {}
            // Cut short (a listener killed the thread): serve it first next time.
            Err(_) => self.needs_serve.store(true, Ordering::Release),
        }
        drained.map(|_| ())
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

    /// Turns io events off. False when that could not be confirmed (a destroy holds the
    /// client's lock right now): librdkafka may still write to the pipe; try again later.
    fn disable_io_events(&self) -> bool {
        if !self.io_events.load(Ordering::Acquire) {
            return true;
        }
        use crate::kafka::client::ClientError;
        let off = match self.core.client.set_io_event_fd(-1) {
            // Inherited: the client's threads are the parent's, nothing writes here.
            // Closed: destroyed (the destroy turned io events off and librdkafka's threads
            // are gone; the lock is released only after rd_kafka_destroy returned).
            Ok(()) | Err(ClientError::Inherited) | Err(ClientError::Closed) => true,
            Err(ClientError::Busy) | Err(ClientError::Kafka(_)) => false,
        };
        if off {
            self.io_events.store(false, Ordering::Release);
        }
        off
    }

    /// Wakes every waiting `unregister` (each then looks at the registry again).
    fn wake_waiting(&self) {
        for p in self.waiting.lock().drain(..) {
            p.signal();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: `pipe` is never used again: this is the slot's drop. It is either dropped
        // here (io events are off: librdkafka never writes to a reused fd number) or leaked.
        let pipe = unsafe { ManuallyDrop::take(&mut self.pipe) };
        if self.disable_io_events() {
            drop(pipe);
        } else {
            pipe.leak();
        }
    }
}

struct Entry {
    producer: Opaque<ProducerObj>,
    slot: Arc<Slot>,
}

struct State {
    generation: u64,
    /// Exists only while a loop runs (an idle poller holds no fds).
    control: Option<Arc<Pipe>>,
    entries: Vec<Entry>,
    /// Entries being retired (still marked).
    retiring: Vec<Entry>,
    version: u64,
    /// The token of the thread that owns the loop; None: idle (see the module docs).
    thread: Option<u64>,
    next_token: u64,
    shutdown: bool,
}

impl State {
    fn own(&mut self) -> u64 {
        self.next_token += 1;
        self.thread = Some(self.next_token);
        self.next_token
    }

    fn find(&self, core: &Arc<ProducerCore>) -> Option<&Arc<Slot>> {
        self.entries
            .iter()
            .chain(self.retiring.iter())
            .find(|e| Arc::ptr_eq(&e.slot.core, core))
            .map(|e| &e.slot)
    }

    /// Moves the entry of `slot` from `entries` to `retiring`.
    fn start_retiring(&mut self, slot: &Arc<Slot>) -> Option<Entry> {
        let pos = self
            .entries
            .iter()
            .position(|e| Arc::ptr_eq(&e.slot, slot))?;
        let e = self.entries.remove(pos);
        self.version += 1;
        let copy = Entry {
            producer: e.producer,
            slot: Arc::clone(&e.slot),
        };
        self.retiring.push(e);
        Some(copy)
    }

    /// Takes the entry of `slot` out of `retiring`: back into `entries` unless `done`.
    fn end_retiring(&mut self, slot: &Arc<Slot>, done: bool) {
        if let Some(pos) = self
            .retiring
            .iter()
            .position(|e| Arc::ptr_eq(&e.slot, slot))
        {
            let e = self.retiring.remove(pos);
            if done {
                e.slot.core.served_by.set(None);
            } else {
                self.entries.push(e);
                self.version += 1;
            }
        }
    }
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
        let state = self.state.try_lock();
        debug_assert!(state.is_some(), "a poller's lock is held during GC");
        if let Some(state) = state {
            for e in state.entries.iter().chain(state.retiring.iter()) {
                marker.mark(e.producer);
            }
        }
    }
}

/// Entries to retire, and slots that need a serve now, from one look at the registry.
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
                thread: None,
                next_token: 0,
                shutdown: false,
            }),
        })
    }

    /// After a fork the registry, the pipes and the thread belong to the parent: forget
    /// them (pipes are closed unread, clients are left alone) and start clean.
    fn reset_if_forked(state: &mut State) {
        if state.generation == fork::generation() {
            return;
        }
        state.entries.clear();
        state.retiring.clear();
        state.control = None;
        state.generation = fork::generation();
        state.thread = None;
        state.shutdown = false;
        state.version += 1;
    }

    fn control(state: &mut State) -> Result<Arc<Pipe>> {
        Ok(match &state.control {
            Some(c) => Arc::clone(c),
            None => {
                let c = Arc::new(Pipe::new()?);
                state.control = Some(Arc::clone(&c));
                c
            }
        })
    }

    /// Adds a producer. Returns the token of a thread the caller must start (with `run`),
    /// or nil when a thread owns the loop already.
    fn register(
        rb_self: &Self,
        producer: ProducerObj,
        max_time_ms: u64,
        periodic_ms: u64,
    ) -> Result<Option<u64>> {
        let core = Arc::clone(&producer.core);
        let mut state = rb_self.state.lock();
        Self::reset_if_forked(&mut state);
        // Before anything changes: a second register must leave the first one's pipe alone.
        if state.find(&core).is_some() {
            return Err(Error::Argument(
                "this producer is already registered with this poller".into(),
            ));
        }
        let control = Self::control(&mut state)?;
        let pipe = Pipe::new()?;
        core.client.set_io_event_fd(pipe.write_fd())?;
        core.served_by.set(Some(rb_self.id));
        let slot = Arc::new(Slot {
            core,
            pipe: ManuallyDrop::new(pipe),
            io_events: AtomicBool::new(true),
            max_time: Duration::from_millis(max_time_ms.max(1)),
            periodic: Duration::from_millis(periodic_ms.max(1)),
            last_poll: Mutex::new(Instant::now()),
            needs_serve: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
        });
        state.entries.push(Entry {
            producer: producer.into(),
            slot,
        });
        state.version += 1;
        state.shutdown = false;
        control.signal();
        Ok(match state.thread {
            Some(_) => None,
            None => Some(state.own()),
        })
    }

    /// Removes a producer after serving what is left in its queue; see the module docs.
    /// Returns whether it was registered.
    fn unregister(ruby: &Ruby, rb_self: &Self, producer: ProducerObj) -> Result<bool> {
        let mut found = false;
        loop {
            let waiting = Arc::new(Pipe::new()?);
            let retire = {
                let mut state = rb_self.state.lock();
                Self::reset_if_forked(&mut state);
                let Some(slot) = state.find(&producer.core).map(Arc::clone) else {
                    return Ok(found);
                };
                found = true;
                slot.closing.store(true, Ordering::Release);
                slot.waiting.lock().push(Arc::clone(&waiting));
                if let Some(c) = &state.control {
                    c.signal();
                }
                if current_thread_serves(rb_self.id) {
                    return Ok(true);
                }
                if state.thread.is_none() {
                    // No loop will come: retire it here (None: another unregister does).
                    state.start_retiring(&slot)
                } else {
                    None
                }
            };
            match retire {
                Some(entry) => {
                    if rb_self.retire(ruby, &entry).map_err(Error::Ruby)? {
                        return Ok(true);
                    }
                    // A destroy holds the client: look again once it had time to finish.
                    gvl::sleep(ruby, RETIRE_RETRY)?;
                }
                None => {
                    gvl::wait_readable(ruby, &[waiting.read_fd()], None)?;
                }
            }
        }
    }

    /// Serves what is left of a retiring entry, turns its io events off and lets it go,
    /// waking the unregister calls waiting for it. Returns false when its io events could
    /// not be turned off yet (a destroy holds the client): the entry goes back into
    /// `entries`, still closing, to be retired again after [`RETIRE_RETRY`]. A listener's
    /// error cuts it short the same way, and is returned.
    fn retire(&self, ruby: &Ruby, entry: &Entry) -> std::result::Result<bool, RbError> {
        let served = entry.slot.serve_all(ruby);
        let done = served.is_ok() && entry.slot.disable_io_events();
        self.state.lock().end_retiring(&entry.slot, done);
        entry.slot.wake_waiting();
        served.map(|()| done)
    }

    fn in_poller_thread(rb_self: &Self) -> bool {
        current_thread_serves(rb_self.id)
    }

    fn count(rb_self: &Self) -> usize {
        let mut state = rb_self.state.lock();
        Self::reset_if_forked(&mut state);
        state.entries.len()
    }

    fn is_running(rb_self: &Self) -> bool {
        let state = rb_self.state.lock();
        state.thread.is_some() && state.generation == fork::generation()
    }

    /// Asks the loop to stop; `clear` then drops every registration.
    fn shutdown(rb_self: &Self) {
        let mut state = rb_self.state.lock();
        state.shutdown = true;
        if let Some(c) = &state.control {
            c.signal();
        }
    }

    /// Drops every registration (io events off, pipes closed). Test helper, after
    /// `shutdown` stopped the thread.
    fn clear(rb_self: &Self) -> usize {
        let entries = {
            let mut state = rb_self.state.lock();
            state.version += 1;
            state.thread = None;
            std::mem::take(&mut state.entries)
        };
        for e in &entries {
            e.slot.core.served_by.set(None);
            e.slot.disable_io_events();
            e.slot.wake_waiting();
        }
        entries.len()
    }

    /// The thread of `token` ended (Ruby's `ensure`). When it still owned the loop (it was
    /// killed, or a non-StandardError ended it), the loop is handed on: returns the token
    /// of a new thread to start when producers are left, no shutdown was asked and
    /// `may_restart` (false while the process exits). Entries it was retiring go back, and
    /// waiting unregister calls look again (and retire their producer themselves when no
    /// thread comes).
    fn thread_ended(rb_self: &Self, token: u64, may_restart: bool) -> Option<u64> {
        let mut state = rb_self.state.lock();
        if state.thread != Some(token) || state.generation != fork::generation() {
            return None;
        }
        state.thread = None;
        let retiring = std::mem::take(&mut state.retiring);
        if !retiring.is_empty() {
            state.entries.extend(retiring);
            state.version += 1;
        }
        let next =
            (may_restart && !state.shutdown && !state.entries.is_empty()).then(|| state.own());
        if next.is_none() {
            state.control = None;
        }
        for e in &state.entries {
            e.slot.needs_serve.store(true, Ordering::Release);
            if next.is_none() {
                e.slot.wake_waiting();
            }
        }
        next
    }

    /// Takes a new look at the registry. `None` means: stop the loop.
    fn snapshot(&self, token: u64, cached: &mut Option<Snapshot>) -> Result<Option<Changes>> {
        let mut state = self.state.lock();
        Self::reset_if_forked(&mut state);
        if state.thread != Some(token) {
            return Ok(None);
        }
        if state.shutdown || state.entries.is_empty() {
            state.thread = None;
            // Closed once the loop drops its snapshot: an idle poller keeps no fds open.
            state.control = None;
            return Ok(None);
        }
        let control = Self::control(&mut state)?;
        let closing: Vec<Arc<Slot>> = state
            .entries
            .iter()
            .filter(|e| e.slot.closing.load(Ordering::Acquire))
            .map(|e| Arc::clone(&e.slot))
            .collect();
        let retire: Vec<Entry> = closing
            .iter()
            .filter_map(|slot| state.start_retiring(slot))
            .collect();
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
        Ok(Some((retire, fresh)))
    }

    /// The polling loop of the thread `token`; returns when the last producer left or on
    /// shutdown. Runs on the poller's Ruby thread.
    fn run(
        ruby: &Ruby,
        rb_self: &Self,
        token: u64,
        poll_timeout_ms: u64,
    ) -> std::result::Result<(), RbError> {
        let _mark = CurrentPoller::enter(rb_self.id);
        {
            // A (re)started loop serves every producer once: an earlier loop may have
            // stopped with events queued, and librdkafka will not write for those.
            let state = rb_self.state.lock();
            for e in &state.entries {
                e.slot.needs_serve.store(true, Ordering::Release);
            }
        }
        let poll_timeout = Duration::from_millis(poll_timeout_ms.max(1));
        let mut cached: Option<Snapshot> = None;
        let mut retry_retire = false;
        loop {
            let Some((retire, fresh)) = rb_self
                .snapshot(token, &mut cached)
                .map_err(|e| magnus::error::IntoError::into_error(e, ruby))?
            else {
                return Ok(());
            };
            if !retire.is_empty() {
                let mut rest = retire.iter();
                let mut all_done = true;
                for e in rest.by_ref() {
                    match rb_self.retire(ruby, e) {
                        Ok(done) => all_done &= done,
                        Err(err) => {
                            // Cut short: the others go back to be retired by the next loop.
                            let mut state = rb_self.state.lock();
                            for other in rest {
                                state.end_retiring(&other.slot, false);
                            }
                            return Err(err);
                        }
                    }
                }
                if all_done {
                    continue;
                }
                // A destroy holds a client: that slot is retried after RETIRE_RETRY, while
                // the loop goes on serving every other producer (no spin, no stall).
                retry_retire = true;
            }
            for slot in &fresh {
                slot.serve(ruby)?;
            }
            let snap = cached.as_ref().expect("snapshot taken");
            let timeout = if retry_retire {
                retry_retire = false;
                poll_timeout.min(RETIRE_RETRY)
            } else {
                poll_timeout
            };
            let wait = gvl::wait_readable(ruby, &snap.fds, Some(timeout))?;
            let snap = cached.as_ref().expect("snapshot taken");
            match wait {
                gvl::Wait::TimedOut => {
                    for slot in &snap.slots {
                        slot.serve(ruby)?;
                    }
                }
                gvl::Wait::Ready(ready) => {
                    let control_index = snap.slots.len();
                    let mut served = vec![false; snap.slots.len()];
                    for i in ready {
                        if i == control_index {
                            snap.control.drain();
                            continue;
                        }
                        let slot = &snap.slots[i];
                        if slot.closing.load(Ordering::Acquire) {
                            continue; // retired (with a final drain) at the top of the loop
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
        CURRENT_POLLER.with(|c| c.set(Some((fork::generation(), id))));
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
    class.define_method("run", magnus::method!(Poller::run, 2))?;
    class.define_method("count", magnus::method!(Poller::count, 0))?;
    class.define_method("running?", magnus::method!(Poller::is_running, 0))?;
    class.define_method(
        "in_poller_thread?",
        magnus::method!(Poller::in_poller_thread, 0),
    )?;
    class.define_method("shutdown", magnus::method!(Poller::shutdown, 0))?;
    class.define_method("clear", magnus::method!(Poller::clear, 0))?;
    class.define_method("thread_ended", magnus::method!(Poller::thread_ended, 2))?;
    let _ = class.as_value();
    Ok(())
}
