//! The write barrier of write-barrier-protected native objects (`RB_OBJ_WRITTEN`).
//!
//! A TypedData declared `wb_protected` can grow old and be skipped by minor GCs, so the GC
//! must be told of every VALUE written into it afterwards; [`written`] does that. Objects
//! using it: the native producer (its in-flight handles), delivery handles (their waiters)
//! and delivery reports.

use magnus::rb_sys::AsRawValue;
use magnus::typed_data::Writebarrier;
use magnus::Value;

/// Tells the GC that `owner` now references `value`. Immediates (nil, true, false, small
/// Integers, static Symbols) are not heap objects and need no barrier; `rb_gc_writebarrier`
/// must never be given one (it reads the object's header once `owner` is old).
pub fn written<O: Writebarrier>(owner: &O, value: Value) {
    if !rb_sys::SPECIAL_CONST_P(value.as_raw()) {
        owner.writebarrier(value);
    }
}
