//! `WaterdropFd::BatchCountdown`: the waiter that `DeliveryHandle.wait_all` attaches to every
//! pending handle of a batch. The poller counts it down natively as reports arrive and
//! releases the batch's latch (a Ruby `WaterdropFd::Latch`) once, at zero: one Ruby call per
//! batch instead of one per message.
//!
//! Attaching and counting down both happen with the GVL held (the poller completes handles
//! with the GVL), so a batch is attached whole before any of its reports is counted. A
//! `wait_all` that gives up detaches the countdown from the handles still pending, so a
//! later `wait` on one of them waits for that handle only.

use std::sync::atomic::{AtomicUsize, Ordering};

use magnus::gc::Marker;
use magnus::typed_data::Obj;
use magnus::value::{Opaque, ReprValue};
use magnus::{
    prelude::*, DataTypeFunctions, Error, RArray, RModule, RTypedData, Ruby, TryConvert, TypedData,
    Value,
};

use crate::delivery::DeliveryHandle;

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

    /// Attaches this countdown to every pending handle of `handles`. Returns the handles of
    /// other kinds (a Ruby client's), which the caller waits on one by one.
    fn attach(ruby: &Ruby, rb_self: Obj<Self>, handles: RArray) -> Result<RArray, Error> {
        let foreign = ruby.ary_new();
        for i in 0..handles.len() {
            let value: Value = handles.entry(i as isize)?;
            let Some(handle) = native_handle(value) else {
                foreign.push(value)?;
                continue;
            };
            rb_self.remaining.fetch_add(1, Ordering::AcqRel);
            if !DeliveryHandle::attach_waiter(handle, rb_self.as_value()) {
                // Its report arrived already.
                rb_self.remaining.fetch_sub(1, Ordering::AcqRel);
            }
        }
        Ok(foreign)
    }

    /// Takes this countdown off every handle of `handles` it still waits on (a `wait_all`
    /// that gave up). Returns how many it was taken off.
    fn detach(ruby: &Ruby, rb_self: Obj<Self>, handles: RArray) -> Result<usize, Error> {
        let mut detached = 0;
        for i in 0..handles.len() {
            let value: Value = handles.entry(i as isize)?;
            if let Some(handle) = native_handle(value) {
                if handle.detach_waiter(ruby, rb_self.as_value()) {
                    rb_self.remaining.fetch_sub(1, Ordering::AcqRel);
                    detached += 1;
                }
            }
        }
        Ok(detached)
    }

    /// Whether the current thread is the poller thread that would have to serve one of the
    /// pending handles of `handles` (a listener must not wait for those).
    fn served_here(handles: RArray) -> Result<bool, Error> {
        if !crate::poller::on_a_poller_thread() {
            return Ok(false);
        }
        for i in 0..handles.len() {
            let value: Value = handles.entry(i as isize)?;
            if native_handle(value).is_some_and(|h| h.served_by_current_thread()) {
                return Ok(true);
            }
        }
        Ok(false)
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

/// `value` as a native delivery handle, if it is one.
fn native_handle(value: Value) -> Option<Obj<DeliveryHandle>> {
    RTypedData::from_value(value).and_then(|_| Obj::<DeliveryHandle>::try_convert(value).ok())
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
    class.define_method("detach", magnus::method!(BatchCountdown::detach, 1))?;
    class.define_singleton_method(
        "served_here?",
        magnus::function!(BatchCountdown::served_here, 1),
    )?;
    class.define_method("latch", magnus::method!(BatchCountdown::latch, 0))?;
    class.define_method("remaining", magnus::method!(BatchCountdown::remaining, 0))?;
    Ok(())
}
