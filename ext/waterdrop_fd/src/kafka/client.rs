//! A librdkafka producer handle (`rd_kafka_t`) and its main queue.
//!
//! Thread rules: librdkafka handles are thread-safe. The handle is kept behind a
//! read/write lock: every operation takes the read side *without waiting* (`try_read`), so
//! a Ruby thread holding the GVL never blocks on librdkafka; only [`Client::destroy`], which
//! runs on a worker thread, takes the write side. After a fork the handle belongs to the
//! parent: it is never used or destroyed in the child (see `crate::fork`).

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::raw::{c_char, c_void};
use std::ptr::NonNull;

use parking_lot::{Mutex, RwLock};
use rdkafka_sys as rd;

use super::conf::Conf;
use super::event::Event;
use super::{cstr_lossy, KafkaError};
use crate::fork;

/// Why an operation could not reach librdkafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The handle was destroyed or is being destroyed.
    Closed,
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

/// One outgoing message, borrowed from the caller for the duration of `produce`.
pub struct OutMessage<'a> {
    pub topic: &'a [u8],
    /// A topic configuration registered with [`Client::register_topic_config`] (0: none).
    pub topic_config: usize,
    pub payload: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub partition: i32,
    pub timestamp_ms: i64,
    pub headers: &'a [(&'a [u8], Option<&'a [u8]>)],
    pub opaque: usize,
}

/// Topic-level settings as validated key/value pairs.
type TopicConfig = Vec<(CString, CString)>;

/// Topic handles of one topic configuration, by topic name.
type TopicHandles = HashMap<Vec<u8>, NonNull<rd::rd_kafka_topic_t>>;

/// Topic handles by topic configuration id, then by name, with the one used last checked
/// first: a producer mostly writes to the topic it wrote to a moment ago, and comparing the
/// name is much cheaper than hashing it (this runs for every message).
#[derive(Default)]
struct Topics {
    by_config: HashMap<usize, TopicHandles>,
    last: Option<(usize, Vec<u8>, NonNull<rd::rd_kafka_topic_t>)>,
}

impl Topics {
    fn get(&mut self, config: usize, name: &[u8]) -> Option<NonNull<rd::rd_kafka_topic_t>> {
        if let Some((c, n, t)) = &self.last {
            if *c == config && n.as_slice() == name {
                return Some(*t);
            }
        }
        let t = *self.by_config.get(&config)?.get(name)?;
        self.remember(config, name, t);
        Some(t)
    }

    fn insert(&mut self, config: usize, name: &[u8], t: NonNull<rd::rd_kafka_topic_t>) {
        self.by_config
            .entry(config)
            .or_default()
            .insert(name.to_vec(), t);
        self.remember(config, name, t);
    }

    fn remember(&mut self, config: usize, name: &[u8], t: NonNull<rd::rd_kafka_topic_t>) {
        match &mut self.last {
            Some((c, n, last)) => {
                *c = config;
                n.clear();
                n.extend_from_slice(name);
                *last = t;
            }
            None => self.last = Some((config, name.to_vec(), t)),
        }
    }

    fn into_handles(self) -> impl Iterator<Item = NonNull<rd::rd_kafka_topic_t>> {
        self.by_config.into_values().flat_map(HashMap::into_values)
    }
}

struct Handle {
    rk: NonNull<rd::rd_kafka_t>,
    main_queue: NonNull<rd::rd_kafka_queue_t>,
    topics: Mutex<Topics>,
    /// Index 0 is "no topic configuration".
    topic_configs: Mutex<Vec<TopicConfig>>,
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
        unsafe { rd::rd_kafka_set_log_queue(rk.as_ptr(), std::ptr::null_mut()) };
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
        let guard = self.handle.try_read().ok_or(ClientError::Closed)?;
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

    /// Takes one event from the main queue without waiting.
    pub fn poll_event(&self) -> Result<Option<Event>, ClientError> {
        self.with_handle(|h| {
            // SAFETY: the queue is live; a 0 timeout never blocks.
            let ev = unsafe { rd::rd_kafka_queue_poll(h.main_queue.as_ptr(), 0) };
            NonNull::new(ev).map(Event::from_raw)
        })
    }

    /// Messages in flight plus unserved events (`rd_kafka_outq_len`).
    pub fn outq_len(&self) -> Result<i32, ClientError> {
        // SAFETY: rk is live while we hold the read lock.
        self.with_handle(|h| unsafe { rd::rd_kafka_outq_len(h.rk.as_ptr()) })
    }

    /// Enqueues one message (copied: RD_KAFKA_MSG_F_COPY). Never blocks.
    pub fn produce(&self, msg: &OutMessage<'_>) -> Result<(), ClientError> {
        self.with_handle(|h| h.produce(msg))?
            .map_err(ClientError::Kafka)
    }

    /// Validates topic-level settings with librdkafka and stores them; returns the id to
    /// pass as [`OutMessage::topic_config`]. librdkafka applies a topic's settings when the
    /// topic is first used by this client; later settings for the same topic are ignored
    /// by librdkafka (as with every librdkafka-based client).
    pub fn register_topic_config(&self, pairs: &[(String, String)]) -> Result<usize, ClientError> {
        let mut validated: TopicConfig = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = CString::new(k.as_str())
                .map_err(|_| config_error(format!("{k:?}: contains a NUL byte")))?;
            let value = CString::new(v.as_str())
                .map_err(|_| config_error(format!("{k}: value contains a NUL byte")))?;
            validated.push((key, value));
        }
        // Build (and throw away) a topic conf to get librdkafka's verdict on every pair.
        let conf = build_topic_conf(&validated).map_err(config_error)?;
        // SAFETY: the conf was created above and is ours.
        unsafe { rd::rd_kafka_topic_conf_destroy(conf.as_ptr()) };
        self.with_handle(|h| {
            let mut configs = h.topic_configs.lock();
            if let Some(i) = configs.iter().position(|c| *c == validated) {
                return i;
            }
            configs.push(validated);
            configs.len() - 1
        })
    }

    /// The partition librdkafka's partitioner `name` picks for `key` among `count`.
    pub fn partition_for(
        &self,
        topic: &[u8],
        topic_config: usize,
        name: &str,
        key: &[u8],
        count: i32,
    ) -> Result<i32, ClientError> {
        if count <= 0 {
            return Ok(-1);
        }
        type Partitioner = unsafe extern "C" fn(
            *const rd::rd_kafka_topic_t,
            *const c_void,
            usize,
            i32,
            *mut c_void,
            *mut c_void,
        ) -> i32;
        let f: Partitioner = match name {
            "random" => rd::rd_kafka_msg_partitioner_random,
            "consistent" => rd::rd_kafka_msg_partitioner_consistent,
            "consistent_random" => rd::rd_kafka_msg_partitioner_consistent_random,
            "murmur2" => rd::rd_kafka_msg_partitioner_murmur2,
            "murmur2_random" => rd::rd_kafka_msg_partitioner_murmur2_random,
            "fnv1a" => rd::rd_kafka_msg_partitioner_fnv1a,
            "fnv1a_random" => rd::rd_kafka_msg_partitioner_fnv1a_random,
            other => {
                return Err(config_error(format!(
                    "unknown partitioner {other:?} (random, consistent, consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random)"
                )))
            }
        };
        let rkt = self.with_handle(|h| h.topic(topic, topic_config))??;
        // SAFETY: rkt is a live topic handle of this client (topic handles live until the
        // client is destroyed, which cannot happen while the caller holds the GVL); the key
        // is read during the call only.
        let p = unsafe {
            f(
                rkt.as_ptr(),
                key.as_ptr() as *const c_void,
                key.len(),
                count,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        Ok(p)
    }

    /// Hands an OAuth bearer token to librdkafka (after an `oauthbearer.token_refresh`).
    pub fn oauthbearer_set_token(
        &self,
        token: &str,
        lifetime_ms: i64,
        principal: &str,
        extensions: &[(String, String)],
    ) -> Result<(), ClientError> {
        let token = cstring_arg(token)?;
        let principal = cstring_arg(principal)?;
        let mut ext_strings = Vec::with_capacity(extensions.len() * 2);
        for (k, v) in extensions {
            ext_strings.push(cstring_arg(k)?);
            ext_strings.push(cstring_arg(v)?);
        }
        let mut ext_ptrs: Vec<*const c_char> = ext_strings.iter().map(|c| c.as_ptr()).collect();
        let mut errstr = [0 as c_char; 512];
        let code = self.with_handle(|h| {
            // SAFETY: rk is live; every string is NUL-terminated and outlives the call.
            unsafe {
                rd::rd_kafka_oauthbearer_set_token(
                    h.rk.as_ptr(),
                    token.as_ptr(),
                    lifetime_ms,
                    principal.as_ptr(),
                    if ext_ptrs.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        ext_ptrs.as_mut_ptr()
                    },
                    ext_ptrs.len(),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                ) as i32
            }
        })?;
        if code == 0 {
            Ok(())
        } else {
            let mut e = KafkaError::from_code(code);
            let detail = cstr_lossy(errstr.as_ptr());
            if !detail.is_empty() {
                e.message = detail;
            }
            Err(ClientError::Kafka(e))
        }
    }

    /// Tells librdkafka that no token could be obtained.
    pub fn oauthbearer_set_token_failure(&self, reason: &str) -> Result<(), ClientError> {
        let reason = cstring_arg(reason)?;
        // SAFETY: rk is live; reason is NUL-terminated and copied.
        let code = self.with_handle(|h| unsafe {
            rd::rd_kafka_oauthbearer_set_token_failure(h.rk.as_ptr(), reason.as_ptr()) as i32
        })?;
        check(code)
    }

    /// Blocks until every message was delivered or `timeout_ms` passed. Worker thread only.
    pub fn flush(&self, timeout_ms: i32) -> Result<(), ClientError> {
        let code = self.with_handle_blocking(|h| {
            // SAFETY: rk is live while we hold the read lock; this blocks (no GVL here).
            unsafe { rd::rd_kafka_flush(h.rk.as_ptr(), timeout_ms) as i32 }
        })?;
        check(code)
    }

    /// Purges queued and in-flight messages; their reports come back with a purge error.
    pub fn purge(&self) -> Result<(), ClientError> {
        let flags = rd::RD_KAFKA_PURGE_F_QUEUE
            | rd::RD_KAFKA_PURGE_F_INFLIGHT
            | rd::RD_KAFKA_PURGE_F_NON_BLOCKING;
        // SAFETY: rk is live; the non-blocking flag keeps this from waiting.
        let code =
            self.with_handle(|h| unsafe { rd::rd_kafka_purge(h.rk.as_ptr(), flags) as i32 })?;
        check(code)
    }

    /// The fatal error this handle is in, if any: (code, reason).
    pub fn fatal_error(&self) -> Result<Option<KafkaError>, ClientError> {
        self.with_handle(|h| {
            let mut buf = [0 as c_char; 512];
            // SAFETY: rk is live; buf is writable with the size we pass.
            let code =
                unsafe { rd::rd_kafka_fatal_error(h.rk.as_ptr(), buf.as_mut_ptr(), buf.len()) }
                    as i32;
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
                rd::rd_kafka_test_fatal_error(
                    h.rk.as_ptr(),
                    super::to_resp_err(code),
                    reason.as_ptr(),
                ) as i32
            }
        })
    }

    /// Runs one transactional call (blocking). Worker thread only.
    pub fn transaction(&self, op: TxnOp, timeout_ms: i32) -> Result<(), ClientError> {
        let err = self.with_handle_blocking(|h| {
            let rk = h.rk.as_ptr();
            // SAFETY: rk is live while we hold the read lock; these calls block the worker
            // thread (never a Ruby thread) and return an owned error object or NULL.
            let ptr = unsafe {
                match op {
                    TxnOp::Init => rd::rd_kafka_init_transactions(rk, timeout_ms),
                    TxnOp::Begin => rd::rd_kafka_begin_transaction(rk),
                    TxnOp::Commit => rd::rd_kafka_commit_transaction(rk, timeout_ms),
                    TxnOp::Abort => rd::rd_kafka_abort_transaction(rk, timeout_ms),
                }
            };
            KafkaError::from_error_ptr(ptr)
        })?;
        match err {
            None => Ok(()),
            Some(e) => Err(ClientError::Kafka(e)),
        }
    }

    /// Adds consumer offsets to the current transaction (`rd_kafka_send_offsets_to_transaction`),
    /// for the consumer group described by `group`. Blocking: worker thread only.
    ///
    /// The group metadata is built here, by this librdkafka, from plain values
    /// (`rd_kafka_consumer_group_metadata_new_with_genid`): a metadata pointer that a consumer
    /// of another librdkafka build handed out must never reach this library, whose struct
    /// layout and allocator may differ.
    pub fn send_offsets_to_transaction(
        &self,
        group: &GroupMetadata,
        offsets: &[TxnOffset],
        timeout_ms: i32,
    ) -> Result<(), ClientError> {
        let group_id = cstring_arg(&group.group_id)?;
        let member_id = cstring_arg(&group.member_id)?;
        let instance_id = group
            .group_instance_id
            .as_deref()
            .map(cstring_arg)
            .transpose()?;
        let topics = offsets
            .iter()
            .map(|o| cstring_arg(&o.topic))
            .collect::<Result<Vec<_>, _>>()?;
        let list = PartitionList::new(offsets.len())?;
        for (o, topic) in offsets.iter().zip(&topics) {
            list.add(topic, o.partition, o.offset, o.metadata.as_deref())?;
        }
        // SAFETY: every string is NUL-terminated and only read during the call (librdkafka
        // copies them); member_id is never NULL (librdkafka duplicates it unconditionally);
        // a NULL group instance id means "no static membership".
        let cgmd = unsafe {
            rd::rd_kafka_consumer_group_metadata_new_with_genid(
                group_id.as_ptr(),
                group.generation_id,
                member_id.as_ptr(),
                instance_id
                    .as_ref()
                    .map_or(std::ptr::null(), |c| c.as_ptr()),
            )
        };
        let cgmd = GroupMetadataPtr(
            NonNull::new(cgmd)
                .ok_or_else(|| config_error("could not allocate group metadata".into()))?,
        );
        let err = self.with_handle_blocking(|h| {
            // SAFETY: rk is live while we hold the read lock; the list and the metadata are
            // ours, valid for the whole call, and librdkafka copies what it keeps. This blocks
            // the worker thread (never a Ruby thread) and returns an owned error or NULL.
            let ptr = unsafe {
                rd::rd_kafka_send_offsets_to_transaction(
                    h.rk.as_ptr(),
                    list.0.as_ptr(),
                    cgmd.0.as_ptr(),
                    timeout_ms,
                )
            };
            KafkaError::from_error_ptr(ptr)
        })?;
        match err {
            None => Ok(()),
            Some(e) => Err(ClientError::Kafka(e)),
        }
    }

    /// Partition count of `topic` from a metadata request (blocking). Worker thread only.
    /// Returns -1 when the topic is unknown.
    pub fn partition_count(&self, topic: &str, timeout_ms: i32) -> Result<i32, ClientError> {
        let ctopic = CString::new(topic).map_err(|_| {
            ClientError::Kafka(KafkaError::from_code(
                rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as i32,
            ))
        })?;
        self.with_handle_blocking(|h| h.partition_count(&ctopic, timeout_ms))?
    }

    /// Destroys the handle (blocking: it waits for librdkafka's threads). Worker thread
    /// only. Returns false when it was already destroyed. Never destroys an inherited
    /// handle: after a fork that memory belongs to the parent's threads, which the child
    /// does not have.
    pub fn destroy(&self) -> bool {
        if self.inherited() {
            return false;
        }
        let handle = self.handle.write().take();
        match handle {
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

/// A transactional call that blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOp {
    Init,
    Begin,
    Commit,
    Abort,
}

/// The consumer group that transactional offsets are committed for: the fields of
/// librdkafka's `rd_kafka_consumer_group_metadata_t`. A generation of -1 with an empty member
/// id commits as a group that is not actively consuming (the broker then skips the
/// generation check, but refuses it while the group has live members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One offset to commit in a transaction: the next offset to consume from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: Option<Vec<u8>>,
}

/// An owned `rd_kafka_topic_partition_list_t`, destroyed on drop.
struct PartitionList(NonNull<rd::rd_kafka_topic_partition_list_t>);

impl PartitionList {
    fn new(capacity: usize) -> Result<Self, ClientError> {
        let size = i32::try_from(capacity).unwrap_or(i32::MAX);
        // SAFETY: allocates a fresh list that we own (released in Drop).
        let raw = unsafe { rd::rd_kafka_topic_partition_list_new(size) };
        NonNull::new(raw)
            .map(Self)
            .ok_or_else(|| config_error("could not allocate a partition list".into()))
    }

    fn add(
        &self,
        topic: &CString,
        partition: i32,
        offset: i64,
        metadata: Option<&[u8]>,
    ) -> Result<(), ClientError> {
        // SAFETY: the list is ours and live; librdkafka copies the topic name and returns a
        // pointer to the new element, valid until the list changes again.
        let elem = unsafe {
            rd::rd_kafka_topic_partition_list_add(self.0.as_ptr(), topic.as_ptr(), partition)
        };
        let mut elem = NonNull::new(elem)
            .ok_or_else(|| config_error("could not add to a partition list".into()))?;
        // SAFETY: `elem` points to the element just added to our list; nothing else uses it.
        let elem = unsafe { elem.as_mut() };
        elem.offset = offset;
        if let Some(bytes) = metadata.filter(|b| !b.is_empty()) {
            // SAFETY: librdkafka frees an element's metadata with its own allocator when the
            // list is destroyed, so the buffer must come from that allocator
            // (rd_kafka_mem_malloc); it is filled with exactly `len` bytes before use.
            unsafe {
                let buf = rd::rd_kafka_mem_malloc(std::ptr::null_mut(), bytes.len());
                if buf.is_null() {
                    return Err(config_error("could not allocate offset metadata".into()));
                }
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf as *mut u8, bytes.len());
                elem.metadata = buf;
            }
            elem.metadata_size = bytes.len();
        }
        Ok(())
    }
}

impl Drop for PartitionList {
    fn drop(&mut self) {
        // SAFETY: the list is ours and destroyed once (with its elements' metadata).
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0.as_ptr()) };
    }
}

/// An owned `rd_kafka_consumer_group_metadata_t`, destroyed on drop.
struct GroupMetadataPtr(NonNull<rd::rd_kafka_consumer_group_metadata_t>);

impl Drop for GroupMetadataPtr {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_consumer_group_metadata_new_with_genid, ours, released once.
        unsafe { rd::rd_kafka_consumer_group_metadata_destroy(self.0.as_ptr()) };
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

fn build_topic_conf(
    pairs: &[(CString, CString)],
) -> Result<NonNull<rd::rd_kafka_topic_conf_t>, String> {
    // SAFETY: creates a fresh topic conf, owned by the caller on success.
    let conf = unsafe { rd::rd_kafka_topic_conf_new() };
    let conf =
        NonNull::new(conf).ok_or_else(|| "could not allocate a topic configuration".to_owned())?;
    for (k, v) in pairs {
        let mut errstr = [0 as c_char; 512];
        // SAFETY: conf is live; key, value and errstr are valid for the call.
        let res = unsafe {
            rd::rd_kafka_topic_conf_set(
                conf.as_ptr(),
                k.as_ptr(),
                v.as_ptr(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if res != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
            // SAFETY: conf is ours and not handed over.
            unsafe { rd::rd_kafka_topic_conf_destroy(conf.as_ptr()) };
            return Err(cstr_lossy(errstr.as_ptr()));
        }
    }
    Ok(conf)
}

fn check(code: i32) -> Result<(), ClientError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::Kafka(KafkaError::from_code(code)))
    }
}

impl Handle {
    fn topic(
        &self,
        name: &[u8],
        config: usize,
    ) -> Result<NonNull<rd::rd_kafka_topic_t>, KafkaError> {
        let mut topics = self.topics.lock();
        if let Some(t) = topics.get(config, name) {
            return Ok(t);
        }
        let cname = CString::new(name).map_err(|_| {
            KafkaError::from_code(rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as i32)
        })?;
        let conf = if config == 0 {
            std::ptr::null_mut()
        } else {
            let configs = self.topic_configs.lock();
            let pairs = configs.get(config).map(Vec::as_slice).unwrap_or(&[]);
            build_topic_conf(pairs)
                .map_err(|message| KafkaError {
                    code: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as i32,
                    message,
                    fatal: false,
                    retriable: false,
                    txn_requires_abort: false,
                })?
                .as_ptr()
        };
        // SAFETY: rk is live; cname is NUL-terminated; librdkafka takes the conf (NULL uses
        // the defaults).
        let rkt = unsafe { rd::rd_kafka_topic_new(self.rk.as_ptr(), cname.as_ptr(), conf) };
        match NonNull::new(rkt) {
            Some(t) => {
                topics.insert(config, name, t);
                Ok(t)
            }
            None => {
                // SAFETY: reads the thread-local last error set by rd_kafka_topic_new.
                let code = unsafe { rd::rd_kafka_last_error() } as i32;
                Err(KafkaError::from_code(code))
            }
        }
    }

    fn produce(&self, msg: &OutMessage<'_>) -> Result<(), KafkaError> {
        let rkt = self.topic(msg.topic, msg.topic_config)?;
        let headers = build_headers(msg.headers);
        let mut vus: [rd::rd_kafka_vu_t; 8] = [vu_end(); 8];
        let mut n = 0;
        let mut push = |vu: rd::rd_kafka_vu_t| {
            vus[n] = vu;
            n += 1;
        };
        push(rd::rd_kafka_vu_t {
            vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT,
            u: rd::rd_kafka_vu_s__bindgen_ty_1 { rkt: rkt.as_ptr() },
        });
        push(rd::rd_kafka_vu_t {
            vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS,
            u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                i: rd::RD_KAFKA_MSG_F_COPY,
            },
        });
        push(rd::rd_kafka_vu_t {
            vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION,
            u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                i32_: msg.partition,
            },
        });
        if let Some(payload) = msg.payload {
            push(mem_vu(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE, payload));
        }
        if let Some(key) = msg.key {
            push(mem_vu(rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY, key));
        }
        if msg.timestamp_ms != 0 {
            push(rd::rd_kafka_vu_t {
                vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_TIMESTAMP,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                    i64_: msg.timestamp_ms,
                },
            });
        }
        push(rd::rd_kafka_vu_t {
            vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE,
            u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                ptr: msg.opaque as *mut c_void,
            },
        });
        if let Some(hdrs) = headers {
            push(rd::rd_kafka_vu_t {
                vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_HEADERS,
                u: rd::rd_kafka_vu_s__bindgen_ty_1 {
                    headers: hdrs.as_ptr(),
                },
            });
        }
        // SAFETY: rk is live; every pointer in `vus` points into memory borrowed for the
        // duration of this call (librdkafka copies payload and key: F_COPY). On success the
        // headers object is owned by the message; on failure it is still ours.
        let err = unsafe { rd::rd_kafka_produceva(self.rk.as_ptr(), vus.as_ptr(), n) };
        match KafkaError::from_error_ptr(err) {
            None => Ok(()),
            Some(e) => {
                if let Some(hdrs) = headers {
                    // SAFETY: produce failed, so the headers were not taken over.
                    unsafe { rd::rd_kafka_headers_destroy(hdrs.as_ptr()) };
                }
                Err(e)
            }
        }
    }

    fn partition_count(&self, topic: &CString, timeout_ms: i32) -> Result<i32, ClientError> {
        let rkt = self
            .topic(topic.as_bytes(), 0)
            .map_err(ClientError::Kafka)?;
        let mut meta: *const rd::rd_kafka_metadata_t = std::ptr::null();
        // SAFETY: rk and rkt are live; librdkafka fills `meta`, which we release below.
        let code = unsafe {
            rd::rd_kafka_metadata(self.rk.as_ptr(), 0, rkt.as_ptr(), &mut meta, timeout_ms)
        } as i32;
        check(code)?;
        // SAFETY: on success `meta` points to a metadata struct with `topic_cnt` topics.
        let count = unsafe {
            let m = &*meta;
            let topics = std::slice::from_raw_parts(m.topics, m.topic_cnt.max(0) as usize);
            let count = topics
                .iter()
                .find(|t| cstr_lossy(t.topic).as_bytes() == topic.as_bytes())
                .map(|t| {
                    if t.err as i32 == 0 {
                        t.partition_cnt
                    } else {
                        -1
                    }
                })
                .unwrap_or(-1);
            rd::rd_kafka_metadata_destroy(meta);
            count
        };
        Ok(count)
    }

    fn destroy(self) {
        let _guard = fork::lifecycle_guard();
        for t in self.topics.into_inner().into_handles() {
            // SAFETY: topic handles are ours and released once, before the client.
            unsafe { rd::rd_kafka_topic_destroy(t.as_ptr()) };
        }
        // SAFETY: the main-queue reference is ours; io events off first so librdkafka never
        // writes to an fd number that its owner has closed.
        unsafe {
            rd::rd_kafka_queue_io_event_enable(self.main_queue.as_ptr(), -1, std::ptr::null(), 0);
            rd::rd_kafka_queue_destroy(self.main_queue.as_ptr());
        }
        // SAFETY: no other reference to rk remains (write lock / sole owner).
        unsafe { rd::rd_kafka_destroy(self.rk.as_ptr()) };
    }
}

fn build_headers(headers: &[(&[u8], Option<&[u8]>)]) -> Option<NonNull<rd::rd_kafka_headers_t>> {
    if headers.is_empty() {
        return None;
    }
    // SAFETY: creates a fresh headers list, owned by us until produce succeeds.
    let hdrs = unsafe { rd::rd_kafka_headers_new(headers.len()) };
    let hdrs = NonNull::new(hdrs)?;
    for (name, value) in headers {
        let (vptr, vlen) = match value {
            Some(v) => (v.as_ptr() as *const c_void, v.len() as isize),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: hdrs is live; name and value are copied by librdkafka.
        unsafe {
            rd::rd_kafka_header_add(
                hdrs.as_ptr(),
                name.as_ptr() as *const c_char,
                name.len() as isize,
                vptr,
                vlen,
            )
        };
    }
    Some(hdrs)
}

fn vu_end() -> rd::rd_kafka_vu_t {
    rd::rd_kafka_vu_t {
        vtype: rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END,
        u: rd::rd_kafka_vu_s__bindgen_ty_1 { i: 0 },
    }
}

fn mem_vu(vtype: rd::rd_kafka_vtype_t, bytes: &[u8]) -> rd::rd_kafka_vu_t {
    rd::rd_kafka_vu_t {
        vtype,
        u: rd::rd_kafka_vu_s__bindgen_ty_1 {
            mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
                ptr: bytes.as_ptr() as *mut c_void,
                size: bytes.len(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(extra: &[(&str, &str)]) -> Client {
        let mut conf = Conf::new();
        conf.set("bootstrap.servers", "127.0.0.1:1").unwrap();
        conf.set("log_level", "0").unwrap();
        for (k, v) in extra {
            conf.set(k, v).unwrap();
        }
        Client::new_producer(conf).unwrap()
    }

    fn group() -> GroupMetadata {
        GroupMetadata {
            group_id: "g".into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }

    #[test]
    fn partition_list_owns_offsets_and_metadata() {
        let list = PartitionList::new(1).unwrap();
        let topic = CString::new("t").unwrap();
        list.add(&topic, 3, 42, Some(b"meta")).unwrap();
        list.add(&topic, 4, 7, None).unwrap();
        // SAFETY: the list is live and has the two elements added above.
        let elems = unsafe {
            let l = list.0.as_ref();
            std::slice::from_raw_parts(l.elems, l.cnt as usize)
        };
        assert_eq!((elems[0].partition, elems[0].offset), (3, 42));
        assert_eq!(elems[0].metadata_size, 4);
        assert!(elems[1].metadata.is_null());
        drop(list);
    }

    #[test]
    fn send_offsets_needs_a_transactional_producer() {
        let client = producer(&[]);
        let offsets = [TxnOffset {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            metadata: Some(b"m".to_vec()),
        }];
        let err = client
            .send_offsets_to_transaction(&group(), &offsets, 1_000)
            .unwrap_err();
        match err {
            ClientError::Kafka(k) => assert_eq!(
                k.code,
                rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__NOT_CONFIGURED as i32
            ),
            other => panic!("unexpected {other:?}"),
        }
        assert!(client.destroy());
    }

    #[test]
    fn send_offsets_outside_a_transaction_is_a_state_error() {
        let client = producer(&[("transactional.id", "client-rs-test")]);
        let offsets = [TxnOffset {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            metadata: None,
        }];
        let mut with_instance = group();
        with_instance.group_instance_id = Some("static-1".into());
        let err = client
            .send_offsets_to_transaction(&with_instance, &offsets, 1_000)
            .unwrap_err();
        match err {
            ClientError::Kafka(k) => assert_eq!(
                k.code,
                rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__STATE as i32
            ),
            other => panic!("unexpected {other:?}"),
        }
        assert!(client.destroy());
    }

    #[test]
    fn nul_bytes_in_group_ids_are_refused_before_librdkafka() {
        let client = producer(&[]);
        let mut bad = group();
        bad.group_id = "g\0".into();
        assert!(matches!(
            client.send_offsets_to_transaction(&bad, &[], 1_000),
            Err(ClientError::Kafka(_))
        ));
        assert!(client.destroy());
    }
}
