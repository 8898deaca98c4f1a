//! `WaterdropFd::DeliveryHandle`: the native half of a delivery handle. It is created by
//! `produce`, kept alive by the producer's in-flight table until its report arrives, and
//! completed by the poller thread. Waiting is done in Ruby (`lib/waterdrop_fd/delivery_handle.rb`)
//! on latch objects that the poller releases, so waits cooperate with Fiber schedulers.
//!
//! A handle has any number of waiters (a `wait` of one thread, the batch countdown of a
//! `wait_all` of another): each is released with the report, and a wait that gives up
//! detaches its own waiter only, so it never makes another wait wait for more than its
//! handle.

use magnus::gc::Marker;
use magnus::rb_sys::AsRawValue;
use magnus::typed_data::Obj;
use magnus::value::{LazyId, Opaque, ReprValue};

use magnus::{prelude::*, DataTypeFunctions, Error, RModule, Ruby, TypedData, Value};
use parking_lot::Mutex;

use crate::barrier::written;
use crate::countdown;
use crate::delivery_report::DeliveryReport;
use crate::poller;

/// Error code of handles whose report can never arrive: the client was destroyed, or the
/// message belongs to the parent process after a fork. It is librdkafka's own `_DESTROY`
/// (-197), so users see a familiar code.
pub const ERR_DESTROY: i32 = -197;

/// The waiters released when a handle completes (usually none or one).
pub type Waiters = Vec<Opaque<Value>>;

#[derive(Clone, Copy)]
struct Outcome {
    pending: bool,
    err: i32,
    partition: i32,
    offset: i64,
}

/// The outcome and the waiters, under one lock, so attaching and completing can never miss
/// each other.
struct State {
    outcome: Outcome,
    waiters: Waiters,
}

#[derive(TypedData)]
/// Write-barrier protected, so that a handle that survived a few GCs is old and a minor GC
/// does not mark through it again: the VALUEs it holds are written only by [`DeliveryHandle::wrap`]
/// and [`DeliveryHandle::attach_waiter`], both of which run the barrier.
#[magnus(
    class = "WaterdropFd::DeliveryHandle",
    free_immediately,
    size,
    mark,
    wb_protected
)]
pub struct DeliveryHandle {
    topic: Opaque<Value>,
    label: Opaque<Value>,
    /// The id of the poller that serves this handle's report (see `poller::served_by`).
    poller: u64,
    state: Mutex<State>,
}

impl DataTypeFunctions for DeliveryHandle {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.topic);
        marker.mark(self.label);
        // Only threads that hold the GVL take this lock, and they never call Ruby (nor let
        // the GC run) while holding it, so it is always free here.
        let state = self.state.try_lock();
        debug_assert!(
            state.is_some(),
            "a delivery handle's lock is held during GC"
        );
        if let Some(state) = state {
            for w in &state.waiters {
                marker.mark(*w);
            }
        }
    }
}

impl DeliveryHandle {
    /// A pending handle whose report the poller `poller` serves, as a Ruby object.
    pub fn wrap(ruby: &Ruby, topic: Value, label: Value, poller: u64) -> HandleObj {
        let obj = ruby.obj_wrap(Self::new(topic, label, poller));
        // Every VALUE stored in a write-barrier-protected object goes through the barrier
        // (for a young object, as this one is, it costs a few instructions).
        written(&obj, topic);
        written(&obj, label);
        obj
    }

    fn new(topic: Value, label: Value, poller: u64) -> Self {
        Self {
            topic: topic.into(),
            label: label.into(),
            poller,
            state: Mutex::new(State {
                outcome: Outcome {
                    pending: true,
                    err: 0,
                    partition: -1,
                    offset: -1,
                },
                waiters: Vec::new(),
            }),
        }
    }

    /// Records the report (only the first completion counts). The waiters stay in the
    /// handle, marked, until [`Self::take_waiter`] hands them out one at a time.
    pub fn complete(&self, err: i32, partition: i32, offset: i64) {
        let mut s = self.state.lock();
        if !s.outcome.pending {
            return;
        }
        s.outcome = Outcome {
            pending: false,
            err,
            partition,
            offset,
        };
    }

    /// Takes one waiter of a completed handle to release. One at a time, because releasing
    /// runs Ruby code (and so the GC, compaction included): a waiter is either still in this
    /// marked list or the caller's local on the machine stack, never only in a Rust heap
    /// buffer that the GC cannot see (where compaction could move it from under us).
    pub fn take_waiter(&self) -> Option<Opaque<Value>> {
        let mut s = self.state.lock();
        if s.outcome.pending {
            return None;
        }
        s.waiters.pop()
    }

    fn outcome(&self) -> Outcome {
        self.state.lock().outcome
    }

    fn is_pending(&self) -> bool {
        self.outcome().pending
    }

    fn partition(&self) -> i32 {
        self.outcome().partition
    }

    fn offset(&self) -> i64 {
        self.outcome().offset
    }

    fn error_code(&self) -> i32 {
        self.outcome().err
    }

    fn label(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.label)
    }

    fn topic(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.topic)
    }

    /// Attaches `waiter` (a latch or a batch countdown) to the handle `this`, to be released
    /// on completion. Returns false (and attaches nothing) when the report arrived already.
    pub fn attach_waiter(this: HandleObj, waiter: Value) -> bool {
        let mut s = this.state.lock();
        if !s.outcome.pending {
            return false;
        }
        s.waiters.push(waiter.into());
        drop(s);
        written(&this, waiter);
        true
    }

    /// Takes `waiter` off again (a wait that gave up). Returns false when it was not
    /// attached (any more): the report arrived and released it.
    pub fn detach_waiter(&self, ruby: &Ruby, waiter: Value) -> bool {
        let mut s = self.state.lock();
        let before = s.waiters.len();
        s.waiters
            .retain(|w| ruby.get_inner(*w).as_raw() != waiter.as_raw());
        s.waiters.len() != before
    }

    fn detach(ruby: &Ruby, rb_self: &Self, latch: Value) -> bool {
        rb_self.detach_waiter(ruby, latch)
    }

    /// Whether the report is still awaited and only the current thread could serve it (a
    /// listener on the poller thread that serves this handle's producer).
    pub fn served_by_current_thread(&self) -> bool {
        poller::current_thread_serves(self.poller) && self.outcome().pending
    }

    fn is_served_here(rb_self: &Self) -> bool {
        rb_self.served_by_current_thread()
    }

    /// The report of a handle delivered without error, built here because that is what
    /// nearly every `wait` returns; nil while pending or when delivery failed (the Ruby
    /// side builds those, with their error object).
    fn delivered_report(ruby: &Ruby, rb_self: &Self) -> Result<Option<Value>, Error> {
        let o = rb_self.outcome();
        if o.pending || o.err != 0 {
            return Ok(None);
        }
        let report = DeliveryReport::wrap(
            ruby,
            o.partition,
            o.offset,
            ruby.get_inner(rb_self.topic),
            ruby.qnil().as_value(),
            ruby.get_inner(rb_self.label),
        );
        Ok(Some(report.as_value()))
    }

    /// The first attached waiter, if any (while pending).
    fn waiter(ruby: &Ruby, rb_self: &Self) -> Option<Value> {
        rb_self
            .state
            .lock()
            .waiters
            .first()
            .map(|w| ruby.get_inner(*w))
    }
}

/// Releases a waiter (a `WaterdropFd::Latch`, or a batch countdown) from the poller thread.
pub fn release_waiter(ruby: &Ruby, waiter: Opaque<Value>) -> Result<(), Error> {
    static RELEASE: LazyId = LazyId::new("release!");
    if let Some(latch) = countdown::latch_to_release(ruby, ruby.get_inner(waiter)) {
        let _: Value = latch.funcall(*RELEASE, ())?;
    }
    Ok(())
}

pub type HandleObj = Obj<DeliveryHandle>;

pub fn init(ruby: &Ruby, root: &RModule) -> Result<(), Error> {
    let class = root.define_class("DeliveryHandle", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("pending?", magnus::method!(DeliveryHandle::is_pending, 0))?;
    class.define_method("partition", magnus::method!(DeliveryHandle::partition, 0))?;
    class.define_method("offset", magnus::method!(DeliveryHandle::offset, 0))?;
    class.define_method("error_code", magnus::method!(DeliveryHandle::error_code, 0))?;
    class.define_method("label", magnus::method!(DeliveryHandle::label, 0))?;
    class.define_method("topic", magnus::method!(DeliveryHandle::topic, 0))?;
    class.define_private_method(
        "_delivered_report",
        magnus::method!(DeliveryHandle::delivered_report, 0),
    )?;
    class.define_private_method("_waiter", magnus::method!(DeliveryHandle::waiter, 0))?;
    class.define_private_method("_attach", magnus::method!(DeliveryHandle::attach_waiter, 1))?;
    class.define_private_method("_detach", magnus::method!(DeliveryHandle::detach, 1))?;
    class.define_private_method(
        "_served_here?",
        magnus::method!(DeliveryHandle::is_served_here, 0),
    )?;
    let _ = class.as_value();
    Ok(())
}
