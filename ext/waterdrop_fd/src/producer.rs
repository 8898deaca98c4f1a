//! `WaterdropFd::Native::Producer`: one librdkafka producer client, its in-flight table and
//! the Ruby object (the *dispatcher*) that receives its events on the poller thread.
//!
//! Every method runs with the GVL held and never blocks, except the ones that hand a
//! blocking librdkafka call to a worker thread (`flush`, `destroy`, transactions,
//! `partition_count`), which wait on an fd with the GVL released.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use magnus::gc::Marker;
use magnus::typed_data::Obj;
use magnus::value::{Opaque, ReprValue};
use magnus::{
    prelude::*, DataTypeFunctions, Error as RbError, RArray, RModule, RString, Ruby, TypedData,
    Value,
};
use parking_lot::Mutex;

use crate::barrier::written;
use crate::delivery::{release_waiter, DeliveryHandle, HandleObj, ERR_DESTROY};
use crate::errors::{Error, Result};
use crate::fastpath;
use crate::inflight::InFlight;
use crate::kafka::client::{Client, ClientError, GroupMetadata, OutMessage, TxnOffset, TxnOp};
use crate::kafka::conf::Conf;
use crate::kafka::event::{Delivery, EventKind};
use crate::poller::ServedBy;
use crate::worker;

/// Event kinds routed to the main queue.
const BASE_EVENTS: i32 = rdkafka_sys::RD_KAFKA_EVENT_DR
    | rdkafka_sys::RD_KAFKA_EVENT_ERROR
    | rdkafka_sys::RD_KAFKA_EVENT_STATS
    | rdkafka_sys::RD_KAFKA_EVENT_LOG;

/// Why a handle failed when its client was destroyed with the message still in flight.
const UNDELIVERED_AT_CLOSE: &str = "the producer's client was closed before this message's delivery was \
     confirmed (close delivers for up to max_wait_timeout, then gives up): it may not have been delivered";

/// Why an inherited handle failed in a forked child.
const ABANDONED_AFTER_FORK: &str = "this message was produced in the parent process before fork: \
     its delivery report goes to the parent, and this process will never get it";

/// The state shared between the Ruby object and the poller that serves it.
pub struct ProducerCore {
    pub client: Arc<Client>,
    in_flight: Mutex<InFlight<Opaque<HandleObj>>>,
    dispatcher: Opaque<Value>,
    notify_deliveries: AtomicBool,
    /// Whether the produce fast path (`try_produce`, `produce_batch`) may hand messages to
    /// librdkafka; `close` clears it first thing, so no message slips in after the final
    /// flush whatever the Ruby side does. (The full path, which the closing thread's final
    /// buffer flush takes, checks the producer's status instead.)
    accepting: AtomicBool,
    /// The poller this producer is registered with (its handles remember it).
    pub served_by: ServedBy,
    /// Reports of a delivery batch whose dispatch was cut short (the poller thread was
    /// killed in a listener): served first on the next serve, so none is lost.
    backlog: Mutex<VecDeque<Delivery>>,
}

#[derive(TypedData)]
/// Write-barrier protected: while messages are in flight the producer holds thousands of
/// handles, and an unprotected object would have them all marked again by every minor GC.
/// Its VALUEs are written only by [`Producer::new`] (the dispatcher) and
/// [`ProducerCore::enqueue`] (each handle), both of which run the barrier.
#[magnus(
    class = "WaterdropFd::Native::Producer",
    free_immediately,
    size,
    mark,
    wb_protected
)]
pub struct Producer {
    pub core: Arc<ProducerCore>,
}

impl DataTypeFunctions for Producer {
    fn mark(&self, marker: &Marker) {
        self.core.mark(marker);
    }
}

impl ProducerCore {
    pub fn mark(&self, marker: &Marker) {
        marker.mark(self.dispatcher);
        // Held only by GVL threads that never call Ruby while holding it: always free here.
        let table = self.in_flight.try_lock();
        debug_assert!(
            table.is_some(),
            "the in-flight table's lock is held during GC"
        );
        if let Some(table) = table {
            for h in table.iter() {
                marker.mark(*h);
            }
        }
    }

    /// Produces one message read by the fast path; `None` when its headers need the Ruby
    /// path (nothing is produced then).
    fn produce_fields(
        &self,
        ruby: &Ruby,
        owner: ProducerObj,
        fields: &fastpath::Fields,
    ) -> Result<Option<HandleObj>> {
        // The last Ruby allocation before librdkafka copies the message: every VALUE read
        // so far is on the caller's stack frame (pinned), header strings are read only after it.
        let handle = DeliveryHandle::wrap(
            ruby,
            fields.topic.as_value(),
            fields.label,
            self.served_by.get(),
        );
        let header_strings = match fields.headers {
            None => Vec::new(),
            Some(h) => match fastpath::header_pairs(h) {
                Some(pairs) => pairs,
                None => return Ok(None),
            },
        };
        self.enqueue(owner, handle, |id| {
            // SAFETY: the GVL is held and no Ruby code runs until `produce` returns, so none of
            // these strings can be mutated, moved or freed while librdkafka reads them (it
            // copies payload, key and headers: RD_KAFKA_MSG_F_COPY).
            unsafe {
                let header_slices: Vec<(&[u8], Option<&[u8]>)> = header_strings
                    .iter()
                    .map(|(k, v)| (k.as_slice(), Some(v.as_slice())))
                    .collect();
                let msg = OutMessage {
                    topic: fields.topic.as_slice(),
                    topic_config: 0,
                    payload: fields.payload.as_ref().map(|s| s.as_slice()),
                    key: fields.key.as_ref().map(|s| s.as_slice()),
                    partition: fields.partition,
                    timestamp_ms: fields.timestamp_ms,
                    headers: &header_slices,
                    opaque: id,
                };
                self.client.produce(&msg)
            }
        })
        .map(Some)
    }

    /// Puts `handle` in the in-flight table and hands its message to librdkafka with
    /// `produce(id)`; the entry is taken out again when librdkafka refuses the message, so
    /// the table only ever holds handles whose report will come. `owner` is the Ruby object
    /// that marks this table (for the write barrier).
    fn enqueue(
        &self,
        owner: ProducerObj,
        handle: HandleObj,
        produce: impl FnOnce(usize) -> std::result::Result<(), ClientError>,
    ) -> Result<HandleObj> {
        let id = self.in_flight.lock().insert(Opaque::from(handle));
        written(&owner, handle.as_value());
        match produce(id) {
            Ok(()) => Ok(handle),
            Err(e) => {
                self.in_flight.lock().remove(id);
                Err(e.into())
            }
        }
    }

    /// Serves the main queue until it is empty or `deadline` passes. Returns true when the
    /// queue was drained, false when the deadline cut the drain short (the caller must then
    /// make sure the producer is served again: librdkafka will not write to the pipe).
    pub fn serve(&self, ruby: &Ruby, deadline: Instant) -> std::result::Result<bool, RbError> {
        loop {
            let Some(d) = self.backlog.lock().pop_front() else {
                break;
            };
            self.deliver(ruby, d, self.notify_deliveries.load(Ordering::Relaxed))?;
        }
        loop {
            let kind = match self.client.poll_event() {
                Ok(Some(kind)) => kind,
                Ok(None) | Err(_) => return Ok(true),
            };
            self.dispatch(ruby, kind)?;
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    fn dispatch(&self, ruby: &Ruby, kind: EventKind) -> std::result::Result<(), RbError> {
        match kind {
            EventKind::Deliveries(list) => {
                let notify = self.notify_deliveries.load(Ordering::Relaxed);
                let mut list = list.into_iter();
                while let Some(d) = list.next() {
                    if let Err(e) = self.deliver(ruby, d, notify) {
                        // Cut short (a kill or throw in a listener): the rest of the batch
                        // is served on the next serve instead of being lost.
                        self.backlog.lock().extend(list);
                        return Err(e);
                    }
                }
            }
            EventKind::Error {
                code,
                reason,
                fatal,
            } => {
                let r = self.call(ruby, "error", (code, reason, fatal));
                self.guard(ruby, "error", r)?;
            }
            EventKind::Statistics(json) => {
                let r = self.call(ruby, "statistics", (json,));
                self.guard(ruby, "statistics", r)?;
            }
            EventKind::OauthbearerTokenRefresh(config) => {
                let r = self.call(ruby, "oauthbearer_token_refresh", (config,));
                self.guard(ruby, "oauthbearer_token_refresh", r)?;
            }
            EventKind::Log {
                level,
                facility,
                message,
            } => {
                let r = self.call(ruby, "log", (level, facility, message));
                self.guard(ruby, "log", r)?;
            }
            EventKind::Other(_) => {}
        }
        Ok(())
    }

    /// Completes the handle of one report.
    fn deliver(&self, ruby: &Ruby, d: Delivery, notify: bool) -> std::result::Result<(), RbError> {
        // The handle stays in the (marked) table until its callbacks ran: Ruby code below
        // may run the GC, and a handle the user dropped is reachable only from here.
        let Some(handle) = self.in_flight.lock().get(d.opaque).copied() else {
            return Ok(());
        };
        let obj = ruby.get_inner(handle);
        let outcome = self.report(ruby, obj, d.err, d.partition, d.offset, notify);
        self.in_flight.lock().remove(d.opaque);
        outcome
    }

    fn call<A: magnus::ArgList>(
        &self,
        ruby: &Ruby,
        method: &str,
        args: A,
    ) -> std::result::Result<(), RbError> {
        let d = ruby.get_inner(self.dispatcher);
        d.funcall::<_, _, Value>(method, args).map(|_| ())
    }

    /// A Ruby exception from a callback is reported to the dispatcher and swallowed, so the
    /// poller keeps serving; a throw or kill (no exception object) is propagated.
    fn guard(
        &self,
        ruby: &Ruby,
        kind: &str,
        r: std::result::Result<(), RbError>,
    ) -> std::result::Result<(), RbError> {
        let Err(e) = r else { return Ok(()) };
        let Some(exc) = e.value() else { return Err(e) };
        let reported = self.call(ruby, "callback_failed", (kind, exc));
        if let Err(e2) = reported {
            if e2.value().is_none() {
                return Err(e2);
            }
            eprintln!("waterdrop_fd: a {kind} callback failed and could not be reported: {e2}");
        }
        Ok(())
    }

    /// Fails every handle still waiting (used once the client is gone): their reports can
    /// never arrive. Every waiter is released first; then each handle is reported to the
    /// dispatcher (`undeliverable(handle, reason)`, instrumented as `error.occurred`), so a
    /// user listening for errors sees every message that will not be delivered. Returns how
    /// many there were.
    fn fail_in_flight(
        &self,
        ruby: &Ruby,
        code: i32,
        reason: &str,
    ) -> std::result::Result<usize, RbError> {
        // Holds the failed handles while Ruby code runs for them: a local VALUE on this
        // stack, so the GC sees it (and, through it, every handle).
        let failed = ruby.ary_new();
        // Reports left over from a cut-short batch belong to handles failed below.
        self.backlog.lock().clear();
        let end = self.in_flight.lock().end_id();
        for id in 1..end {
            // One at a time, each left in the marked table while Ruby code runs for it.
            let Some(handle) = self.in_flight.lock().get(id).copied() else {
                continue;
            };
            let obj = ruby.get_inner(handle);
            obj.complete(code, -1, -1);
            while let Some(w) = obj.take_waiter() {
                if let Err(e) = release_waiter(ruby, w) {
                    eprintln!("waterdrop_fd: could not release a waiter: {e}");
                }
            }
            failed.push(obj)?;
            self.in_flight.lock().remove(id);
        }
        for obj in failed.into_iter() {
            let r = self.call(ruby, "undeliverable", (obj, reason));
            self.guard(ruby, "delivery", r)?;
        }
        Ok(failed.len())
    }

    /// Completes one handle: releases its waiter and, when wanted, tells the dispatcher.
    fn report(
        &self,
        ruby: &Ruby,
        obj: HandleObj,
        err: i32,
        partition: i32,
        offset: i64,
        notify: bool,
    ) -> std::result::Result<(), RbError> {
        // Every waiter is released even if a kill or throw cuts one release short (the
        // handle gave them all up already): the first such error is returned afterwards.
        let mut cut_short = None;
        obj.complete(err, partition, offset);
        while let Some(w) = obj.take_waiter() {
            if let Err(e) = self.guard(ruby, "delivery", release_waiter(ruby, w)) {
                cut_short.get_or_insert(e);
            }
        }
        if let Some(e) = cut_short {
            return Err(e);
        }
        if notify || err != 0 {
            let r = self.call(ruby, "delivered", (obj,));
            self.guard(ruby, "delivery", r)?;
        }
        Ok(())
    }
}

impl Producer {
    /// `Native::Producer.new(config_pairs, dispatcher, oauth)`.
    fn new(ruby: &Ruby, config: RArray, dispatcher: Value, oauth: bool) -> Result<ProducerObj> {
        let mut conf = Conf::new();
        for pair in config.into_iter() {
            let pair = RArray::try_convert(pair)?;
            let key: String = pair.entry(0)?;
            let value: String = pair.entry(1)?;
            conf.set(&key, &value).map_err(Error::Config)?;
        }
        conf.set("log.queue", "true").map_err(Error::Config)?;
        let mut events = BASE_EVENTS;
        if oauth {
            events |= rdkafka_sys::RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH;
        }
        conf.enable_events(events);
        crate::kafka::resolve::install(&mut conf);
        let client = Client::new_producer(conf).map_err(Error::ClientCreation)?;
        let obj = ruby.obj_wrap(Self {
            core: Arc::new(ProducerCore {
                client: Arc::new(client),
                in_flight: Mutex::new(InFlight::default()),
                dispatcher: dispatcher.into(),
                notify_deliveries: AtomicBool::new(false),
                accepting: AtomicBool::new(true),
                served_by: ServedBy::default(),
                backlog: Mutex::new(VecDeque::new()),
            }),
        });
        written(&obj, dispatcher);
        Ok(obj)
    }

    #[allow(clippy::too_many_arguments)]
    fn produce(
        ruby: &Ruby,
        rb_self: ProducerObj,
        topic: RString,
        payload: Option<RString>,
        key: Option<RString>,
        partition: i32,
        timestamp_ms: i64,
        headers: Option<RArray>,
        label: Value,
        topic_config: usize,
    ) -> Result<HandleObj> {
        let core = &rb_self.core;
        let handle = DeliveryHandle::wrap(ruby, topic.as_value(), label, core.served_by.get());
        let header_strings: Vec<Option<RString>> = match headers {
            None => Vec::new(),
            Some(arr) => arr
                .into_iter()
                .map(|v| {
                    if v.is_nil() {
                        Ok(None)
                    } else {
                        RString::try_convert(v).map(Some)
                    }
                })
                .collect::<std::result::Result<_, _>>()?,
        };
        if header_strings.len() % 2 != 0 {
            return Err(Error::Argument("headers must be name/value pairs".into()));
        }
        core.enqueue(rb_self, handle, |id| {
            // SAFETY: the GVL is held and no Ruby code runs until `produce` returns, so none
            // of these strings can be mutated or freed while librdkafka reads them; librdkafka
            // copies payload, key and headers (RD_KAFKA_MSG_F_COPY) before returning.
            unsafe {
                let header_slices: Vec<(&[u8], Option<&[u8]>)> = header_strings
                    .chunks(2)
                    .map(|kv| {
                        let name = kv[0].as_ref().map(|s| s.as_slice()).unwrap_or(b"");
                        (name, kv[1].as_ref().map(|s| s.as_slice()))
                    })
                    .collect();
                let msg = OutMessage {
                    topic: topic.as_slice(),
                    topic_config,
                    payload: payload.as_ref().map(|s| s.as_slice()),
                    key: key.as_ref().map(|s| s.as_slice()),
                    partition,
                    timestamp_ms,
                    headers: &header_slices,
                    opaque: id,
                };
                core.client.produce(&msg)
            }
        })
    }

    /// Registers topic-level settings (`[[key, value], ...]`); returns the id to produce with.
    fn register_topic_config(rb_self: &Self, pairs: RArray) -> Result<usize> {
        let pairs = string_pairs(pairs)?;
        rb_self
            .core
            .client
            .register_topic_config(&pairs)
            .map_err(|e| match e {
                crate::kafka::client::ClientError::Kafka(k) => Error::Config(k.message),
                other => other.into(),
            })
    }

    /// The partition librdkafka's `partitioner` picks for `key` among `count` partitions.
    fn partition_for(
        rb_self: &Self,
        topic: RString,
        topic_config: usize,
        partitioner: String,
        key: RString,
        count: i32,
    ) -> Result<i32> {
        // SAFETY: the GVL is held and no Ruby code runs during the call, so the strings
        // cannot change or move while librdkafka reads them.
        let (topic, key) = unsafe { (topic.as_slice(), key.as_slice()) };
        rb_self
            .core
            .client
            .partition_for(topic, topic_config, &partitioner, key, count)
            .map_err(|e| match e {
                crate::kafka::client::ClientError::Kafka(k) if k.code == -186 => {
                    Error::Argument(k.message)
                }
                other => other.into(),
            })
    }

    /// Sets the OAuth bearer token (`oauthbearer_set_token`).
    fn oauthbearer_set_token(
        rb_self: &Self,
        token: String,
        lifetime_ms: i64,
        principal: String,
        extensions: RArray,
    ) -> Result<()> {
        let extensions = string_pairs(extensions)?;
        Ok(rb_self.core.client.oauthbearer_set_token(
            &token,
            lifetime_ms,
            &principal,
            &extensions,
        )?)
    }

    /// Reports that no OAuth token could be obtained.
    fn oauthbearer_set_token_failure(rb_self: &Self, reason: String) -> Result<()> {
        Ok(rb_self.core.client.oauthbearer_set_token_failure(&reason)?)
    }

    /// The fast path of `produce_async`: reads the message Hash natively and produces it,
    /// or returns nil when the message needs the Ruby path (see `fastpath.rs`).
    fn try_produce(
        ruby: &Ruby,
        rb_self: ProducerObj,
        message: Value,
        max_payload_size: usize,
    ) -> Result<Option<HandleObj>> {
        if !rb_self.core.accepting.load(Ordering::Acquire) {
            return Ok(None);
        }
        match fastpath::read(ruby, message, max_payload_size) {
            Some(fields) => rb_self.core.produce_fields(ruby, rb_self, &fields),
            None => Ok(None),
        }
    }

    /// Whether every message of `messages` can take the fast path (nothing is produced):
    /// the batch APIs check the whole batch first, so that an invalid message anywhere
    /// still means nothing is sent.
    fn fast_batch(ruby: &Ruby, _rb_self: &Self, messages: RArray, max_payload_size: usize) -> bool {
        (0..messages.len()).all(|i| {
            let Ok(message) = messages.entry::<Value>(i as isize) else {
                return false;
            };
            fastpath::read(ruby, message, max_payload_size).is_some_and(|fields| {
                fields
                    .headers
                    .is_none_or(|h| fastpath::header_pairs(h).is_some())
            })
        })
    }

    /// Produces up to `count` messages of `messages` from index `from` by the fast path,
    /// pushing each handle onto `handles`. Returns how many were produced: fewer than asked
    /// when the array ends or a message needs the Ruby path. A produce error is raised after
    /// the handles produced before it were pushed, so the caller knows where to go on.
    /// Batches are handed over in chunks so that no call holds the GVL for long.
    fn produce_batch(
        ruby: &Ruby,
        rb_self: ProducerObj,
        messages: RArray,
        from: usize,
        count: usize,
        max_payload_size: usize,
        handles: RArray,
    ) -> Result<usize> {
        if !rb_self.core.accepting.load(Ordering::Acquire) {
            return Ok(0);
        }
        let mut produced = 0;
        while produced < count {
            let index = from + produced;
            if index >= messages.len() {
                break;
            }
            let message: Value = messages.entry(index as isize)?;
            let Some(fields) = fastpath::read(ruby, message, max_payload_size) else {
                break;
            };
            match rb_self.core.produce_fields(ruby, rb_self, &fields)? {
                Some(handle) => handles.push(handle)?,
                None => break,
            }
            produced += 1;
        }
        Ok(produced)
    }

    /// Waits (GVL released) until everything was delivered; false on timeout.
    fn flush(ruby: &Ruby, rb_self: &Self, timeout_ms: i32) -> Result<bool> {
        // librdkafka reads a negative timeout as "for ever": a flush that never returns would
        // also keep a later close's destroy waiting behind it.
        if timeout_ms < 0 {
            return Err(Error::Argument(format!(
                "flush timeout must be 0 or more milliseconds, got {timeout_ms}"
            )));
        }
        let client = Arc::clone(&rb_self.core.client);
        let res = worker::run(ruby, "flush", None, move || client.flush(timeout_ms))?;
        match res {
            Some(Ok(())) => Ok(true),
            Some(Err(crate::kafka::client::ClientError::Kafka(k))) if k.code == -185 => Ok(false),
            Some(Err(e)) => Err(e.into()),
            None => Ok(false),
        }
    }

    fn purge(rb_self: &Self) -> Result<()> {
        rb_self.core.client.purge().map_err(Into::into)
    }

    /// Destroys the librdkafka client (on a worker, GVL released) and fails any handle still
    /// in flight with `_DESTROY`, reporting each. Returns how many handles were failed.
    fn destroy(ruby: &Ruby, rb_self: &Self) -> Result<usize> {
        let client = Arc::clone(&rb_self.core.client);
        if !client.inherited() {
            worker::run(ruby, "destroy", None, move || client.destroy())?;
        }
        Ok(rb_self
            .core
            .fail_in_flight(ruby, ERR_DESTROY, UNDELIVERED_AT_CLOSE)?)
    }

    /// Fails inherited handles after a fork (their reports belong to the parent), reporting
    /// each. Returns how many there were.
    fn abandon(ruby: &Ruby, rb_self: &Self) -> Result<usize> {
        Ok(rb_self
            .core
            .fail_in_flight(ruby, ERR_DESTROY, ABANDONED_AFTER_FORK)?)
    }

    fn queue_size(rb_self: &Self) -> i32 {
        rb_self.core.client.outq_len().unwrap_or(0)
    }

    fn in_flight_count(rb_self: &Self) -> usize {
        rb_self.core.in_flight.lock().len()
    }

    fn name(rb_self: &Self) -> String {
        rb_self.core.client.name().to_owned()
    }

    /// Whether the librdkafka client is gone: destroyed, or made by the parent process.
    /// (Not the producer's `closed` status, nor `ClosedProducerError`'s "client destroyed".)
    fn is_destroyed(rb_self: &Self) -> bool {
        rb_self.core.client.closed()
    }

    fn is_inherited(rb_self: &Self) -> bool {
        rb_self.core.client.inherited()
    }

    /// Closes the produce fast path for good (`close` began).
    fn stop_accepting(rb_self: &Self) {
        rb_self.core.accepting.store(false, Ordering::Release);
    }

    fn set_notify_deliveries(rb_self: &Self, on: bool) -> bool {
        rb_self.core.notify_deliveries.store(on, Ordering::Relaxed);
        on
    }

    fn fatal_error(rb_self: &Self) -> Result<Option<(i32, String)>> {
        Ok(rb_self
            .core
            .client
            .fatal_error()?
            .map(|e| (e.code, e.message)))
    }

    fn test_fatal_error(rb_self: &Self, code: i32, reason: String) -> Result<i32> {
        Ok(rb_self.core.client.test_fatal_error(code, &reason)?)
    }

    /// Runs a transactional call on a worker. `op`: "init", "begin", "commit", "abort".
    fn transaction(ruby: &Ruby, rb_self: &Self, op: String, timeout_ms: i32) -> Result<()> {
        let op = match op.as_str() {
            "init" => TxnOp::Init,
            "begin" => TxnOp::Begin,
            "commit" => TxnOp::Commit,
            "abort" => TxnOp::Abort,
            other => {
                return Err(Error::Argument(format!(
                    "unknown transaction operation {other:?}"
                )))
            }
        };
        let client = Arc::clone(&rb_self.core.client);
        let res = worker::run(ruby, "transaction", None, move || {
            client.transaction(op, timeout_ms)
        })?;
        match res {
            Some(r) => r.map_err(Into::into),
            None => Err(Error::Io("transaction worker gave no result".into())),
        }
    }

    /// Adds consumer offsets to the current transaction (worker thread, GVL released).
    ///
    /// `group`: `[group_id, generation_id, member_id, group_instance_id_or_nil]`, from which
    /// the group metadata is built by this extension's own librdkafka. `offsets`:
    /// `[[topic, partition, next_offset, metadata_or_nil], ...]`.
    fn send_offsets_to_transaction(
        ruby: &Ruby,
        rb_self: &Self,
        group: RArray,
        offsets: RArray,
        timeout_ms: i32,
    ) -> Result<()> {
        let group = GroupMetadata {
            group_id: group.entry(0)?,
            generation_id: group.entry(1)?,
            member_id: group.entry(2)?,
            group_instance_id: group.entry(3)?,
        };
        let mut list = Vec::with_capacity(offsets.len());
        for entry in offsets.into_iter() {
            let entry = RArray::try_convert(entry)?;
            let metadata: Option<RString> = entry.entry(3)?;
            list.push(TxnOffset {
                topic: entry.entry(0)?,
                partition: entry.entry(1)?,
                offset: entry.entry(2)?,
                // SAFETY: the GVL is held and no Ruby code runs while the bytes are copied.
                metadata: metadata.map(|m| unsafe { m.as_slice() }.to_vec()),
            });
        }
        let client = Arc::clone(&rb_self.core.client);
        let res = worker::run(ruby, "send_offsets", None, move || {
            client.send_offsets_to_transaction(&group, &list, timeout_ms)
        })?;
        match res {
            Some(r) => r.map_err(Into::into),
            None => Err(Error::Io("send_offsets worker gave no result".into())),
        }
    }

    /// Partition count from broker metadata (worker thread); -1 when unknown.
    fn partition_count(ruby: &Ruby, rb_self: &Self, topic: String, timeout_ms: i32) -> Result<i32> {
        let client = Arc::clone(&rb_self.core.client);
        let wait = Duration::from_millis(timeout_ms.max(0) as u64 + 1_000);
        let res = worker::run(ruby, "metadata", Some(wait), move || {
            client.partition_count(&topic, timeout_ms)
        })?;
        match res {
            Some(r) => r.map_err(Into::into),
            None => Ok(-1),
        }
    }
}

fn string_pairs(pairs: RArray) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs.into_iter() {
        let pair = RArray::try_convert(pair)?;
        out.push((pair.entry::<String>(0)?, pair.entry::<String>(1)?));
    }
    Ok(out)
}

pub type ProducerObj = Obj<Producer>;

pub fn init(ruby: &Ruby, native: &RModule) -> std::result::Result<(), RbError> {
    let class = native.define_class("Producer", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("new", magnus::function!(Producer::new, 3))?;
    class.define_method("produce", magnus::method!(Producer::produce, 8))?;
    class.define_method("try_produce", magnus::method!(Producer::try_produce, 2))?;
    class.define_method("fast_batch?", magnus::method!(Producer::fast_batch, 2))?;
    class.define_method("produce_batch", magnus::method!(Producer::produce_batch, 5))?;
    class.define_method(
        "register_topic_config",
        magnus::method!(Producer::register_topic_config, 1),
    )?;
    class.define_method("partition_for", magnus::method!(Producer::partition_for, 5))?;
    class.define_method(
        "oauthbearer_set_token",
        magnus::method!(Producer::oauthbearer_set_token, 4),
    )?;
    class.define_method(
        "oauthbearer_set_token_failure",
        magnus::method!(Producer::oauthbearer_set_token_failure, 1),
    )?;
    class.define_method("flush", magnus::method!(Producer::flush, 1))?;
    class.define_method("purge", magnus::method!(Producer::purge, 0))?;
    class.define_method("destroy", magnus::method!(Producer::destroy, 0))?;
    class.define_method("abandon", magnus::method!(Producer::abandon, 0))?;
    class.define_method("queue_size", magnus::method!(Producer::queue_size, 0))?;
    class.define_method(
        "in_flight_count",
        magnus::method!(Producer::in_flight_count, 0),
    )?;
    class.define_method("name", magnus::method!(Producer::name, 0))?;
    class.define_method("destroyed?", magnus::method!(Producer::is_destroyed, 0))?;
    class.define_method("inherited?", magnus::method!(Producer::is_inherited, 0))?;
    class.define_method(
        "stop_accepting",
        magnus::method!(Producer::stop_accepting, 0),
    )?;
    class.define_method(
        "notify_deliveries=",
        magnus::method!(Producer::set_notify_deliveries, 1),
    )?;
    class.define_method("fatal_error", magnus::method!(Producer::fatal_error, 0))?;
    class.define_method(
        "test_fatal_error",
        magnus::method!(Producer::test_fatal_error, 2),
    )?;
    class.define_method("transaction", magnus::method!(Producer::transaction, 2))?;
    class.define_method(
        "send_offsets_to_transaction",
        magnus::method!(Producer::send_offsets_to_transaction, 3),
    )?;
    class.define_method(
        "partition_count",
        magnus::method!(Producer::partition_count, 2),
    )?;
    Ok(())
}
