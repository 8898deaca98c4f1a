//! Producing: messages, topic configurations and librdkafka's partitioners.

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr::NonNull;

use rdkafka_sys as rd;

use super::super::KafkaError;
use super::handle::{build_topic_conf, Handle, TopicConfig};
use super::{config_error, Client, ClientError};

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

impl Client {
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
        let p = self.with_handle(|h| {
            let rkt = h.topic(topic, topic_config)?;
            // SAFETY: rkt borrows the handle, which the read guard keeps alive for this whole
            // closure (destroy needs the write side); the key is read during the call only.
            Ok::<i32, KafkaError>(unsafe {
                f(
                    rkt.as_ptr(),
                    key.as_ptr() as *const c_void,
                    key.len(),
                    count,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            })
        })??;
        Ok(p)
    }
}

impl Handle {
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
        // SAFETY: `err` is the owned error object (or NULL) rd_kafka_produceva returned.
        match unsafe { KafkaError::from_error_ptr(err) } {
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
            crate::kafka::ffi::rd_kafka_header_add(
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
