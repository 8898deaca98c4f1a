//! A librdkafka producer handle (`rd_kafka_t`) and its main queue, in rooms:
//!
//! - this file: the client's life (the lock, the fork rule, destroy) and the calls that need
//!   only `rk` or the main queue (io events, events, flush, purge, fatal errors);
//! - [`handle`]: the raw handle and its topic handles, and the one type that lends them out;
//! - [`produce`]: messages, topic configurations and partitioners;
//! - [`transactions`]: transactional calls and the offsets they commit;
//! - [`metadata`]: metadata requests; [`oauth`]: OAuth bearer tokens.
//!
//! Lifetime rule, enforced by types: librdkafka objects are reached only inside
//! `with_handle`/`with_handle_blocking`, whose closure borrows the `Handle`. What points into
//! it (a `TopicRef`, an `Event`) borrows from that `&Handle`, so it cannot leave the closure,
//! and nothing that touches `rk` outlives the read guard. [`Client::destroy`] takes the write
//! side and keeps it until `rd_kafka_destroy` returned.
//!
//! Thread rules: librdkafka handles are thread-safe. Every operation takes the read side
//! *without waiting* (`try_read`), so a Ruby thread holding the GVL never blocks on
//! librdkafka; only [`Client::destroy`], which runs on a worker thread, takes the write side.
//! After a fork the handle belongs to the parent: it is never used or destroyed in the child
//! (see `crate::fork`).

mod handle;
pub mod metadata;
pub mod oauth;
pub mod produce;
pub mod transactions;

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::raw::{c_char, c_void};
use std::ptr::NonNull;

use parking_lot::{Mutex, RwLock};
use rdkafka_sys as rd;

use super::conf::Conf;
use super::event::{Event, EventKind};
use super::{cstr_lossy, KafkaError};
use crate::fork;
use handle::{Handle, Topics};

pub use produce::OutMessage;
pub use transactions::{GroupMetadata, TxnOffset, TxnOp};

/// Why an operation could not reach librdkafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The handle was destroyed.
    Closed,
    /// A destroy holds the handle right now, or waits for it (it is being destroyed: this
    /// ends as `Closed`).
    Busy,
    /// The handle was created by the parent of this (forked) process.
    Inherited,
    /// librdkafka said no.
    Kafka(KafkaError),
}

impl From<KafkaError> for ClientError {
    fn from(e: KafkaError) -> Self {
        ClientError::Kafka(e)
    }
}

/// A producer client. Create with [`Client::new_producer`].
pub struct Client {
    handle: RwLock<Option<Handle>>,
    fork_generation: u64,
    name: String,
}

// SAFETY: librdkafka's rd_kafka_t, queue and topic handles are documented as thread-safe;
// the raw pointers are only dereferenced by librdkafka, and their lifetime is guarded by
// the RwLock (destroy takes the write side after every reader is gone).
unsafe impl Send for Client {}
// SAFETY: as above; all shared access goes through the RwLock / Mutex.
unsafe impl Sync for Client {}

impl Client {
    /// Builds a producer from a conf (consumed). Logs are routed to the main queue
    /// (`log.queue` must be set to true in the conf for that to take effect).
    pub fn new_producer(conf: Conf) -> Result<Client, String> {
        let mut errstr = [0 as c_char; 512];
        let raw_conf = conf.into_raw();
        let _guard = fork::lifecycle_guard();
        // SAFETY: raw_conf is a valid conf we own; on success librdkafka takes ownership,
        // on failure it stays ours and we destroy it.
        let rk = unsafe {
            rd::rd_kafka_new(
                rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
                raw_conf,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        let Some(rk) = NonNull::new(rk) else {
            // SAFETY: rd_kafka_new failed, so the conf is still ours.
            unsafe { rd::rd_kafka_conf_destroy(raw_conf) };
            return Err(cstr_lossy(errstr.as_ptr()));
        };
        // SAFETY: rk is a live handle. A NULL queue routes logs to the main queue.
        unsafe { crate::kafka::ffi::rd_kafka_set_log_queue(rk.as_ptr(), std::ptr::null_mut()) };
        // SAFETY: rk is live; the returned queue reference is released in destroy().
        let main_queue = unsafe { rd::rd_kafka_queue_get_main(rk.as_ptr()) };
        let main_queue = NonNull::new(main_queue).expect("librdkafka returned no main queue");
        // SAFETY: rk is live; rd_kafka_name returns a string owned by rk, copied here.
        let name = cstr_lossy(unsafe { rd::rd_kafka_name(rk.as_ptr()) });
        Ok(Client {
            handle: RwLock::new(Some(Handle {
                rk,
                main_queue,
                topics: Mutex::new(Topics::default()),
                topic_configs: Mutex::new(vec![Vec::new()]),
            })),
            fork_generation: fork::generation(),
            name,
        })
    }

    /// librdkafka's instance name (`client.id#producer-N`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle was inherited from a parent process.
    pub fn inherited(&self) -> bool {
        self.fork_generation != fork::generation()
    }

    /// Runs `f` with the live handle, never waiting for the lock.
    fn with_handle<R>(&self, f: impl FnOnce(&Handle) -> R) -> Result<R, ClientError> {
        if self.inherited() {
            return Err(ClientError::Inherited);
        }
        let guard = self.handle.try_read().ok_or(ClientError::Busy)?;
        let handle = guard.as_ref().ok_or(ClientError::Closed)?;
        Ok(f(handle))
    }

    /// Like `with_handle`, but may wait for the lock: only for worker threads (no GVL).
    fn with_handle_blocking<R>(&self, f: impl FnOnce(&Handle) -> R) -> Result<R, ClientError> {
        if self.inherited() {
            return Err(ClientError::Inherited);
        }
        let guard = self.handle.read();
        let handle = guard.as_ref().ok_or(ClientError::Closed)?;
        Ok(f(handle))
    }

    /// Whether the handle was destroyed (or belongs to the parent process).
    pub fn closed(&self) -> bool {
        self.with_handle(|_| ()).is_err()
    }

    /// Makes librdkafka write `\x01` to `fd` whenever the main queue turns non-empty (once
    /// per non-polling period). `fd` must be non-blocking. Pass -1 to disable.
    pub fn set_io_event_fd(&self, fd: RawFd) -> Result<(), ClientError> {
        const PAYLOAD: [u8; 1] = [1];
        self.with_handle(|h| {
            // SAFETY: the queue is live while we hold the read lock; the payload is copied.
            unsafe {
                rd::rd_kafka_queue_io_event_enable(
                    h.main_queue.as_ptr(),
                    fd,
                    PAYLOAD.as_ptr() as *const c_void,
                    PAYLOAD.len(),
                )
            }
        })
    }

    /// Takes one event from the main queue without waiting, copies out what it carries and
    /// destroys it, all under the read guard (an event's destruction touches `rk`).
    pub fn poll_event(&self) -> Result<Option<EventKind>, ClientError> {
        self.with_handle(|h| {
            // SAFETY: the queue is live while the read guard is held; a 0 timeout never blocks.
            let ev = unsafe { rd::rd_kafka_queue_poll(h.main_queue.as_ptr(), 0) };
            // SAFETY: `ev` was just polled from this handle's queue and is ours; the Event
            // borrows `h`, so it is destroyed (after `read` copied it out) inside the guard.
            NonNull::new(ev).map(|ev| unsafe { Event::from_raw(ev, h) }.read())
        })
    }

    /// Messages in flight plus unserved events (`rd_kafka_outq_len`).
    pub fn outq_len(&self) -> Result<i32, ClientError> {
        // SAFETY: rk is live while we hold the read lock.
        self.with_handle(|h| unsafe { rd::rd_kafka_outq_len(h.rk.as_ptr()) })
    }

    /// Blocks until every message was delivered or `timeout_ms` passed. Worker thread only.
    pub fn flush(&self, timeout_ms: i32) -> Result<(), ClientError> {
        let code = self.with_handle_blocking(|h| {
            // SAFETY: rk is live while we hold the read lock; this blocks (no GVL here).
            unsafe { crate::kafka::ffi::rd_kafka_flush(h.rk.as_ptr(), timeout_ms) }
        })?;
        check(code)
    }

    /// Purges queued and in-flight messages; their reports come back with a purge error.
    pub fn purge(&self) -> Result<(), ClientError> {
        let flags = rd::RD_KAFKA_PURGE_F_QUEUE
            | rd::RD_KAFKA_PURGE_F_INFLIGHT
            | rd::RD_KAFKA_PURGE_F_NON_BLOCKING;
        // SAFETY: rk is live; the non-blocking flag keeps this from waiting.
        let code = self
            .with_handle(|h| unsafe { crate::kafka::ffi::rd_kafka_purge(h.rk.as_ptr(), flags) })?;
        check(code)
    }

    /// The fatal error this handle is in, if any: (code, reason).
    pub fn fatal_error(&self) -> Result<Option<KafkaError>, ClientError> {
        self.with_handle(|h| {
            let mut buf = [0 as c_char; 512];
            // SAFETY: rk is live; buf is writable with the size we pass.
            let code = unsafe {
                crate::kafka::ffi::rd_kafka_fatal_error(h.rk.as_ptr(), buf.as_mut_ptr(), buf.len())
            };
            (code != 0).then(|| KafkaError {
                code,
                message: cstr_lossy(buf.as_ptr()),
                fatal: true,
                retriable: false,
                txn_requires_abort: false,
            })
        })
    }

    /// Triggers a fatal error for tests (`rd_kafka_test_fatal_error`); returns its code.
    pub fn test_fatal_error(&self, code: i32, reason: &str) -> Result<i32, ClientError> {
        let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
        self.with_handle(|h| {
            // SAFETY: rk is live; reason is NUL-terminated and copied by librdkafka.
            unsafe {
                crate::kafka::ffi::rd_kafka_test_fatal_error(h.rk.as_ptr(), code, reason.as_ptr())
            }
        })
    }

    /// Destroys the handle (blocking: it waits for librdkafka's threads). Worker thread
    /// only. Returns false when it was already destroyed. Never destroys an inherited
    /// handle: after a fork that memory belongs to the parent's threads, which the child
    /// does not have.
    pub fn destroy(&self) -> bool {
        if self.inherited() {
            return false;
        }
        // The write side is kept until rd_kafka_destroy returned: a reader that finds the
        // lock free then finds no handle (Closed), never a handle half destroyed, and io
        // events seen off by a reader are off for good.
        let mut guard = self.handle.write();
        match guard.take() {
            Some(h) => {
                h.destroy();
                true
            }
            None => false,
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Reached when a producer is garbage collected without `close`. Destroying blocks,
        // and GC must never block, so a short-lived thread does it. After a fork the
        // handle is the parent's: leak it on purpose.
        let handle = self.handle.get_mut().take();
        if let Some(h) = handle {
            if self.fork_generation != fork::generation() {
                std::mem::forget(h);
                return;
            }
            let h = SendHandle(h);
            let spawned = std::thread::Builder::new()
                .name("waterdrop.gc-destroy".into())
                .spawn(move || h.destroy());
            if let Err(e) = spawned {
                // Could not start a thread: leaking the handle is the only non-blocking way.
                eprintln!("waterdrop_fd: could not destroy a dropped producer: {e}");
            }
        }
    }
}

struct SendHandle(Handle);
// SAFETY: see the Send impl for Client; the handle is moved to exactly one thread.
unsafe impl Send for SendHandle {}

impl SendHandle {
    fn destroy(self) {
        self.0.destroy()
    }
}

fn config_error(message: String) -> ClientError {
    ClientError::Kafka(KafkaError {
        code: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as i32,
        message,
        fatal: false,
        retriable: false,
        txn_requires_abort: false,
    })
}

fn cstring_arg(s: &str) -> Result<CString, ClientError> {
    CString::new(s).map_err(|_| config_error(format!("{s:?} contains a NUL byte")))
}

fn check(code: i32) -> Result<(), ClientError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::Kafka(KafkaError::from_code(code)))
    }
}
