//! Transactions: the blocking transactional calls and the consumer offsets they commit.

use std::ffi::CString;
use std::ptr::NonNull;

use rdkafka_sys as rd;

use super::super::KafkaError;
use super::{config_error, cstring_arg, Client, ClientError};

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

impl Client {
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
            // SAFETY: `ptr` is the owned error object (or NULL) the call above returned.
            unsafe { KafkaError::from_error_ptr(ptr) }
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
            // SAFETY: `ptr` is the owned error object (or NULL) the call above returned.
            unsafe { KafkaError::from_error_ptr(ptr) }
        })?;
        match err {
            None => Ok(()),
            Some(e) => Err(ClientError::Kafka(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::conf::Conf;

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
