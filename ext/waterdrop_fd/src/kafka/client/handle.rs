//! The raw librdkafka handle and its topic handles. Only [`super::Client`] holds a `Handle`,
//! behind its lock; a topic handle is lent out as a [`TopicRef`] that borrows the `Handle`.

use std::collections::HashMap;
use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::ptr::NonNull;

use parking_lot::Mutex;
use rdkafka_sys as rd;

use super::super::{cstr_lossy, KafkaError};
use crate::fork;

/// Topic-level settings as validated key/value pairs.
pub(super) type TopicConfig = Vec<(CString, CString)>;

/// Topic handles of one topic configuration, by topic name.
type TopicHandles = HashMap<Vec<u8>, NonNull<rd::rd_kafka_topic_t>>;

/// Topic handles by topic configuration id, then by name, with the one used last checked
/// first: a producer mostly writes to the topic it wrote to a moment ago, and comparing the
/// name is much cheaper than hashing it (this runs for every message).
#[derive(Default)]
pub(super) struct Topics {
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

pub(super) struct Handle {
    pub(super) rk: NonNull<rd::rd_kafka_t>,
    pub(super) main_queue: NonNull<rd::rd_kafka_queue_t>,
    pub(super) topics: Mutex<Topics>,
    /// Index 0 is "no topic configuration".
    pub(super) topic_configs: Mutex<Vec<TopicConfig>>,
}

/// A topic handle of a live `Handle`: it borrows the handle, so it cannot outlive the lock
/// guard the handle was reached through (topic handles are destroyed with the client).
#[derive(Clone, Copy)]
pub(super) struct TopicRef<'h> {
    ptr: NonNull<rd::rd_kafka_topic_t>,
    _handle: PhantomData<&'h Handle>,
}

impl TopicRef<'_> {
    pub(super) fn as_ptr(&self) -> *mut rd::rd_kafka_topic_t {
        self.ptr.as_ptr()
    }
}

impl Handle {
    /// The topic handle of `name` under topic configuration `config`, created on first use.
    pub(super) fn topic(&self, name: &[u8], config: usize) -> Result<TopicRef<'_>, KafkaError> {
        let mut topics = self.topics.lock();
        if let Some(t) = topics.get(config, name) {
            return Ok(self.lend(t));
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
                Ok(self.lend(t))
            }
            None => {
                // SAFETY: reads the thread-local last error set by rd_kafka_topic_new.
                let code = unsafe { crate::kafka::ffi::rd_kafka_last_error() };
                Err(KafkaError::from_code(code))
            }
        }
    }

    fn lend(&self, ptr: NonNull<rd::rd_kafka_topic_t>) -> TopicRef<'_> {
        TopicRef {
            ptr,
            _handle: PhantomData,
        }
    }

    /// Destroys the topic handles, the main queue reference and `rk` (blocks until
    /// librdkafka's threads are gone). The caller holds the client's write lock.
    pub(super) fn destroy(self) {
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

pub(super) fn build_topic_conf(
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
