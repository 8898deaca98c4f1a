//! `WaterdropFd::DeliveryHandle`: the native half of a delivery handle. It is created by
//! `produce`, kept alive by the producer's in-flight table until its report arrives, and
//! completed by the poller thread. Waiting is done in Ruby (`lib/waterdrop_fd/delivery_handle.rb`)
//! on a latch object that the poller releases, so waits cooperate with Fiber schedulers.

use std::sync::OnceLock;

use magnus::gc::Marker;
use magnus::typed_data::Obj;
use magnus::value::{LazyId, Opaque, ReprValue};

use magnus::{prelude::*, DataTypeFunctions, Error, RClass, RModule, Ruby, TypedData, Value};
use parking_lot::Mutex;

use crate::countdown;

/// Error code used for handles whose report can never arrive (client destroyed, or the
/// message belongs to the parent process after a fork): librdkafka's `_DESTROY` (-197)
/// and `_PURGE_QUEUE` (-152) are reused so users see familiar codes.
pub const ERR_DESTROY: i32 = -197;

/// What attaching a waiter to a handle did.
pub enum Attach {
    Attached,
    /// The report arrived already: nothing to wait for.
    Done,
    /// Another waiter is attached (only one per handle).
    Taken,
}

#[derive(Clone, Copy)]
struct Outcome {
    pending: bool,
    err: i32,
    partition: i32,
    offset: i64,
    /// A latch to release on completion (set while pending, under the same lock as
    /// `pending`, so attaching and completing can never miss each other).
    waiter: Option<Opaque<Value>>,
}

#[derive(TypedData)]
#[magnus(class = "WaterdropFd::DeliveryHandle", free_immediately, size, mark)]
pub struct DeliveryHandle {
    topic: Opaque<Value>,
    label: Opaque<Value>,
    outcome: Mutex<Outcome>,
}

impl DataTypeFunctions for DeliveryHandle {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.topic);
        marker.mark(self.label);
        // Locks here are only ever held by threads that hold the GVL and do not call Ruby
        // while holding them, so they are free whenever the GC runs.
        if let Some(o) = self.outcome.try_lock() {
            if let Some(w) = o.waiter {
                marker.mark(w);
            }
        }
    }
}

impl DeliveryHandle {
    pub fn new(topic: Value, label: Value) -> Self {
        Self {
            topic: topic.into(),
            label: label.into(),
            outcome: Mutex::new(Outcome {
                pending: true,
                err: 0,
                partition: -1,
                offset: -1,
                waiter: None,
            }),
        }
    }

    /// Records the report. Returns the waiter to release, if one is attached. Only the
    /// first completion counts.
    pub fn complete(&self, err: i32, partition: i32, offset: i64) -> Option<Opaque<Value>> {
        let mut o = self.outcome.lock();
        if !o.pending {
            return None;
        }
        let waiter = o.waiter.take();
        *o = Outcome {
            pending: false,
            err,
            partition,
            offset,
            waiter: None,
        };
        waiter
    }

    fn outcome(&self) -> Outcome {
        *self.outcome.lock()
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

    /// Attaches `waiter` (a latch or a batch countdown) to be released on completion,
    /// unless the report arrived already or another waiter is attached.
    pub fn attach_waiter(&self, waiter: Value) -> Attach {
        let mut o = self.outcome.lock();
        if !o.pending {
            return Attach::Done;
        }
        if o.waiter.is_some() {
            return Attach::Taken;
        }
        o.waiter = Some(waiter.into());
        Attach::Attached
    }

    /// Attaches `latch` to be released on completion. Returns false (and attaches nothing)
    /// when the report already arrived, or when another latch is attached already.
    fn attach(rb_self: &Self, latch: Value) -> bool {
        matches!(rb_self.attach_waiter(latch), Attach::Attached)
    }

    /// The report of a handle delivered without error, built here because that is what
    /// nearly every `wait` returns; nil while pending or when delivery failed (the Ruby
    /// side builds those, with their error object).
    fn delivered_report(ruby: &Ruby, rb_self: &Self) -> Result<Option<Value>, Error> {
        let o = rb_self.outcome();
        if o.pending || o.err != 0 {
            return Ok(None);
        }
        let report = report_class(ruby)?.new_instance((
            o.partition,
            o.offset,
            ruby.get_inner(rb_self.topic),
            ruby.qnil(),
            ruby.get_inner(rb_self.label),
        ))?;
        Ok(Some(report))
    }

    /// The attached latch, if any (while pending).
    fn waiter(ruby: &Ruby, rb_self: &Self) -> Option<Value> {
        rb_self.outcome.lock().waiter.map(|w| ruby.get_inner(w))
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

/// `WaterdropFd::DeliveryReport` (defined in Ruby), looked up once. The class is kept
/// alive by its constant and registered with the GC (pinned), so it is never collected
/// or moved.
fn report_class(ruby: &Ruby) -> Result<RClass, Error> {
    static CLASS: OnceLock<Opaque<RClass>> = OnceLock::new();
    if let Some(class) = CLASS.get() {
        return Ok(ruby.get_inner(*class));
    }
    let root: RModule = ruby.class_object().const_get("WaterdropFd")?;
    let class: RClass = root.const_get("DeliveryReport")?;
    ruby.gc_register_mark_object(class);
    let _ = CLASS.set(class.into());
    Ok(class)
}

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
    class.define_private_method("_attach", magnus::method!(DeliveryHandle::attach, 1))?;
    let _ = class.as_value();
    Ok(())
}
