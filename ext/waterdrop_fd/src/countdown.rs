//! `WaterdropFd::BatchCountdown`: the waiter that `DeliveryHandle.wait_all` attaches to every
//! pending handle of a batch. The poller counts it down natively as reports arrive and
//! releases the batch's latch (a Ruby `WaterdropFd::Latch`) once, at zero: one Ruby call per
//! batch instead of one per message.
//!
//! Attaching and counting down both happen with the GVL held (the poller completes handles
//! with the GVL), so a batch is attached whole before any of its reports is counted.

use std::sync::atomic::{AtomicUsize, Ordering};

use magnus::gc::Marker;
use magnus::typed_data::Obj;
use magnus::value::{Opaque, ReprValue};
use magnus::{
    prelude::*, DataTypeFunctions, Error, RArray, RModule, RTypedData, Ruby, TryConvert, TypedData,
    Value,
};

use crate::delivery::{Attach, DeliveryHandle};

#[derive(TypedData)]
#[magnus(class = "WaterdropFd::BatchCountdown", free_immediately, size, mark)]
pub struct BatchCountdown {
    latch: Opaque<Value>,
    remaining: AtomicUsize,
}

impl DataTypeFunctions for BatchCountdown {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.latch);
    }
}

impl BatchCountdown {
    fn new(latch: Value) -> Self {
        Self {
            latch: latch.into(),
            remaining: AtomicUsize::new(0),
        }
    }

    /// Attaches this countdown to every pending handle of `handles` that has no waiter yet.
    /// Returns the handles it could not attach to and that may be pending: those another
    /// waiter holds already, and handles of other kinds (a Ruby client's); the caller waits
    /// on those one by one.
    fn attach(ruby: &Ruby, rb_self: Obj<Self>, handles: RArray) -> Result<RArray, Error> {
        let taken = ruby.ary_new();
        for i in 0..handles.len() {
            let value: Value = handles.entry(i as isize)?;
            let Some(handle) = RTypedData::from_value(value)
                .and_then(|_| <&DeliveryHandle>::try_convert(value).ok())
            else {
                taken.push(value)?;
                continue;
            };
            rb_self.remaining.fetch_add(1, Ordering::AcqRel);
            match handle.attach_waiter(rb_self.as_value()) {
                Attach::Attached => {}
                Attach::Done => {
                    rb_self.remaining.fetch_sub(1, Ordering::AcqRel);
                }
                Attach::Taken => {
                    rb_self.remaining.fetch_sub(1, Ordering::AcqRel);
                    taken.push(value)?;
                }
            }
        }
        Ok(taken)
    }

    /// The latch released when the last report arrives.
    fn latch(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.latch)
    }

    /// Reports still awaited.
    fn remaining(&self) -> usize {
        self.remaining.load(Ordering::Acquire)
    }

    /// One report arrived: the latch to release when it was the last one awaited.
    fn count_down(&self, ruby: &Ruby) -> Option<Value> {
        (self.remaining.fetch_sub(1, Ordering::AcqRel) == 1).then(|| ruby.get_inner(self.latch))
    }
}

/// The latch to release for `waiter`: the waiter itself (a `WaterdropFd::Latch`), or, for a
/// batch countdown, its latch once the last report of the batch arrived (None before that).
pub fn latch_to_release(ruby: &Ruby, waiter: Value) -> Option<Value> {
    // A Latch is a plain object: checking for typed data first keeps the single-wait path
    // free of a failed conversion.
    if RTypedData::from_value(waiter).is_none() {
        return Some(waiter);
    }
    match <&BatchCountdown>::try_convert(waiter) {
        Ok(countdown) => countdown.count_down(ruby),
        Err(_) => Some(waiter),
    }
}

pub fn init(ruby: &Ruby, root: &RModule) -> Result<(), Error> {
    let class = root.define_class("BatchCountdown", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method(
        "new",
        magnus::function!(
            |ruby: &Ruby, latch: Value| ruby.obj_wrap(BatchCountdown::new(latch)),
            1
        ),
    )?;
    class.define_method("attach", magnus::method!(BatchCountdown::attach, 1))?;
    class.define_method("latch", magnus::method!(BatchCountdown::latch, 0))?;
    class.define_method("remaining", magnus::method!(BatchCountdown::remaining, 0))?;
    Ok(())
}
