//! Metadata requests.

use std::ffi::CString;

use rdkafka_sys as rd;

use super::super::ffi::read_code;
use super::super::{cstr_lossy, KafkaError};
use super::handle::Handle;
use super::{check, Client, ClientError};

impl Client {
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
}

impl Handle {
    fn partition_count(&self, topic: &CString, timeout_ms: i32) -> Result<i32, ClientError> {
        let rkt = self
            .topic(topic.as_bytes(), 0)
            .map_err(ClientError::Kafka)?;
        let mut meta: *const rd::rd_kafka_metadata_t = std::ptr::null();
        // SAFETY: rk and rkt are live; librdkafka fills `meta`, which we release below.
        let code = unsafe {
            crate::kafka::ffi::rd_kafka_metadata(
                self.rk.as_ptr(),
                0,
                rkt.as_ptr(),
                &mut meta,
                timeout_ms,
            )
        };
        check(code)?;
        // SAFETY: on success `meta` points to a metadata struct with `topic_cnt` topics,
        // released once below. The topics are read through raw pointers, field by field:
        // their `err` may hold a code that rdkafka-sys's enum lacks (see kafka::ffi).
        let count = unsafe {
            let m = &*meta;
            let count = (0..m.topic_cnt.max(0) as usize)
                .map(|i| m.topics.add(i))
                .find(|t| cstr_lossy((**t).topic).as_bytes() == topic.as_bytes())
                .map(|t| {
                    if read_code(std::ptr::addr_of!((*t).err)) == 0 {
                        (*t).partition_cnt
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
}
