//! Consumer group metadata that another librdkafka in the process serialized.
//!
//! Under Karafka the consumer runs on karafka-rdkafka's librdkafka, and its
//! `rd_kafka_consumer_group_metadata_t *` must never reach this extension's librdkafka
//! (another build: struct layout and allocator may differ). The Ruby side serializes it on
//! the consumer's own library (`rd_kafka_consumer_group_metadata_write`); the bytes are read
//! here with ours (`rd_kafka_consumer_group_metadata_read`, which checks the format's magic,
//! that every string is printable and the length is exact, so foreign or damaged bytes are
//! an error, never a memory fault), and handed back as plain values that the transactional
//! offset commit turns into our own metadata again.

use magnus::{function, prelude::*, r_string::RString, Error as RbError, RModule, Ruby};
use rdkafka_sys as rd;

use crate::errors::Error;
use crate::kafka::client::GroupMetadata;
use crate::kafka::{cstr_lossy, KafkaError};

/// Reads serialized group metadata with this extension's librdkafka.
pub fn read(bytes: &[u8]) -> Result<GroupMetadata, KafkaError> {
    let mut cgmd: *mut rd::rd_kafka_consumer_group_metadata_t = std::ptr::null_mut();
    // SAFETY: librdkafka reads at most `len` bytes from the slice, which lives for the whole
    // call; on success it stores a new metadata object that we own in `cgmd`, on failure it
    // returns an owned error object (taken and destroyed by from_error_ptr).
    let err = unsafe {
        rd::rd_kafka_consumer_group_metadata_read(
            &mut cgmd,
            bytes.as_ptr().cast::<std::os::raw::c_void>(),
            bytes.len(),
        )
    };
    // SAFETY: `err` is the owned error object (or NULL) the call above returned.
    if let Some(e) = unsafe { KafkaError::from_error_ptr(err) } {
        return Err(e);
    }
    if cgmd.is_null() {
        return Err(KafkaError::from_code(
            rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__BAD_MSG as i32,
        ));
    }
    // SAFETY: `cgmd` is the live object librdkafka just built for us; the accessors return
    // pointers into it (copied by cstr_lossy before the object is destroyed) and it is
    // destroyed exactly once, here.
    let group = unsafe {
        let instance = rd::rd_kafka_consumer_group_metadata_group_instance_id(cgmd);
        let group = GroupMetadata {
            group_id: cstr_lossy(rd::rd_kafka_consumer_group_metadata_group_id(cgmd)),
            generation_id: rd::rd_kafka_consumer_group_metadata_generation_id(cgmd),
            member_id: cstr_lossy(rd::rd_kafka_consumer_group_metadata_member_id(cgmd)),
            group_instance_id: (!instance.is_null()).then(|| cstr_lossy(instance)),
        };
        rd::rd_kafka_consumer_group_metadata_destroy(cgmd);
        group
    };
    Ok(group)
}

/// `WaterdropFd::Native.consumer_group_metadata_read(bytes)` ->
/// `[group_id, generation_id, member_id, group_instance_id_or_nil]`; raises
/// `WaterdropFd::RdkafkaError` (`:bad_msg`) for bytes this librdkafka cannot read.
fn read_rb(bytes: RString) -> Result<(String, i32, String, Option<String>), Error> {
    // SAFETY: the GVL is held and no Ruby code runs while the bytes are copied.
    let bytes = unsafe { bytes.as_slice() }.to_vec();
    let g = read(&bytes)?;
    Ok((
        g.group_id,
        g.generation_id,
        g.member_id,
        g.group_instance_id,
    ))
}

/// Registers `WaterdropFd::Native.consumer_group_metadata_read`.
pub fn init(_ruby: &Ruby, native: &RModule) -> Result<(), RbError> {
    native.define_singleton_method("consumer_group_metadata_read", function!(read_rb, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// Serializes with this librdkafka (the format is the same one a consumer's library
    /// writes when both are v2 builds).
    fn write(group: &str, generation: i32, member: &str, instance: Option<&str>) -> Vec<u8> {
        let g = CString::new(group).unwrap();
        let m = CString::new(member).unwrap();
        let i = instance.map(|s| CString::new(s).unwrap());
        // SAFETY: NUL-terminated strings valid for the calls; the metadata and the buffer are
        // ours and released once each with librdkafka's own functions.
        unsafe {
            let cgmd = rd::rd_kafka_consumer_group_metadata_new_with_genid(
                g.as_ptr(),
                generation,
                m.as_ptr(),
                i.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            );
            let mut buf: *mut std::os::raw::c_void = std::ptr::null_mut();
            let mut size = 0usize;
            let err = rd::rd_kafka_consumer_group_metadata_write(cgmd, &mut buf, &mut size);
            assert!(err.is_null());
            let out = std::slice::from_raw_parts(buf as *const u8, size).to_vec();
            rd::rd_kafka_mem_free(std::ptr::null_mut(), buf);
            rd::rd_kafka_consumer_group_metadata_destroy(cgmd);
            out
        }
    }

    #[test]
    fn reads_back_every_field() {
        let bytes = write("billing", 7, "member-1", Some("instance-a"));
        let g = read(&bytes).unwrap();
        assert_eq!(g.group_id, "billing");
        assert_eq!(g.generation_id, 7);
        assert_eq!(g.member_id, "member-1");
        assert_eq!(g.group_instance_id.as_deref(), Some("instance-a"));

        let g = read(&write("g", -1, "", None)).unwrap();
        assert_eq!((g.generation_id, g.member_id.as_str()), (-1, ""));
        assert_eq!(g.group_instance_id, None);
    }

    #[test]
    fn foreign_or_damaged_bytes_are_a_bad_msg_error() {
        let bad_msg = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__BAD_MSG as i32;
        let e = read(b"not metadata at all").unwrap_err();
        assert_eq!(e.code, bad_msg);
        assert!(e.message.contains("not a serialized"), "{}", e.message);

        let mut bytes = write("billing", 7, "member-1", None);
        bytes.push(0);
        let e = read(&bytes).unwrap_err();
        assert_eq!(e.code, bad_msg);
        assert!(e.message.contains("bad length"), "{}", e.message);
        assert_eq!(read(b"").unwrap_err().code, bad_msg);
    }
}
