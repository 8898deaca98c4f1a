//! Events taken from a producer's main queue (delivery reports, errors, statistics,
//! OAuth token refresh requests, logs).

use std::marker::PhantomData;
use std::os::raw::c_char;
use std::ptr::NonNull;

use rdkafka_sys as rd;

use super::cstr_lossy;

/// The outcome of one message, copied out of librdkafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// The opaque given at produce time (an in-flight table id).
    pub opaque: usize,
    pub err: i32,
    pub partition: i32,
    pub offset: i64,
}

/// What an event carries, copied into owned Rust data.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Deliveries(Vec<Delivery>),
    Error {
        code: i32,
        reason: String,
        fatal: bool,
    },
    Statistics(String),
    OauthbearerTokenRefresh(String),
    Log {
        level: i32,
        facility: String,
        message: String,
    },
    Other(i32),
}

/// An owned `rd_kafka_event_t`, destroyed on drop. It borrows the client handle it was
/// polled from (`'h`): destroying an event touches `rk`, so it must not outlive the guard
/// that keeps `rk` alive.
pub(crate) struct Event<'h> {
    ptr: NonNull<rd::rd_kafka_event_t>,
    _handle: PhantomData<&'h ()>,
}

impl<'h> Event<'h> {
    /// Takes ownership of `ptr`, polled from the handle `owner`.
    ///
    /// # Safety
    /// `ptr` is an event polled from the queue of the client `owner` is the live handle of,
    /// handed over to the caller and not used again: it is destroyed when this is dropped,
    /// which `'h` keeps inside the borrow of `owner`.
    pub(crate) unsafe fn from_raw<T>(ptr: NonNull<rd::rd_kafka_event_t>, _owner: &'h T) -> Self {
        Event {
            ptr,
            _handle: PhantomData,
        }
    }

    /// Copies the event's content out (a delivery batch into one `Vec` per event).
    pub fn read(&self) -> EventKind {
        let ev = self.ptr.as_ptr();
        // SAFETY: ev is a live event we own; every accessor below reads from it and
        // everything returned is copied before the event is destroyed.
        unsafe {
            let kind = rd::rd_kafka_event_type(ev);
            match kind {
                rd::RD_KAFKA_EVENT_DR => {
                    let mut out = Vec::with_capacity(rd::rd_kafka_event_message_count(ev));
                    loop {
                        let m = rd::rd_kafka_event_message_next(ev);
                        if m.is_null() {
                            break;
                        }
                        // Read field by field through the raw pointer: `err` may hold a
                        // code rdkafka-sys's enum lacks (a newer broker's), never made a
                        // Rust enum (see kafka::ffi).
                        out.push(Delivery {
                            opaque: (*m)._private as usize,
                            err: super::ffi::read_code(std::ptr::addr_of!((*m).err)),
                            partition: (*m).partition,
                            offset: (*m).offset,
                        });
                    }
                    EventKind::Deliveries(out)
                }
                rd::RD_KAFKA_EVENT_ERROR => EventKind::Error {
                    code: crate::kafka::ffi::rd_kafka_event_error(ev),
                    reason: cstr_lossy(rd::rd_kafka_event_error_string(ev)),
                    fatal: rd::rd_kafka_event_error_is_fatal(ev) != 0,
                },
                rd::RD_KAFKA_EVENT_STATS => {
                    EventKind::Statistics(cstr_lossy(rd::rd_kafka_event_stats(ev)))
                }
                rd::RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH => EventKind::OauthbearerTokenRefresh(
                    cstr_lossy(rd::rd_kafka_event_config_string(ev)),
                ),
                rd::RD_KAFKA_EVENT_LOG => {
                    let mut fac: *const c_char = std::ptr::null();
                    let mut msg: *const c_char = std::ptr::null();
                    let mut level: i32 = 0;
                    rd::rd_kafka_event_log(ev, &mut fac, &mut msg, &mut level);
                    EventKind::Log {
                        level,
                        facility: cstr_lossy(fac),
                        message: cstr_lossy(msg),
                    }
                }
                other => EventKind::Other(other),
            }
        }
    }
}

impl Drop for Event<'_> {
    fn drop(&mut self) {
        // SAFETY: we own the event and release it once, while its handle is alive ('h).
        unsafe { rd::rd_kafka_event_destroy(self.ptr.as_ptr()) }
    }
}
