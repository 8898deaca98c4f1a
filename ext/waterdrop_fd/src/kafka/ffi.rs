//! librdkafka's functions that take or return an error code, declared with the code as a
//! plain `c_int`.
//!
//! rdkafka-sys binds `rd_kafka_resp_err_t` as a Rust enum. A C enum may hold any `int`: a
//! broker's error code newer than the bindings, a code a user passed to a mock helper. Such
//! a value in a Rust enum is undefined behaviour the moment it exists, so no error code
//! ever crosses the FFI boundary as that enum: these declarations (same symbols, same ABI:
//! the C enum is an `int`) are the only way the crate calls them, and `clippy.toml` refuses
//! the enum-typed bindings. Codes are read out of C structs the same way
//! ([`read_code`]). The enum's named constants stay usable as values (`X as i32`).
#![allow(non_snake_case)] // the parameter names follow librdkafka's header

use std::os::raw::{c_char, c_int, c_void};

use rdkafka_sys as rd;

extern "C" {
    pub fn rd_kafka_err2str(err: c_int) -> *const c_char;
    pub fn rd_kafka_err2name(err: c_int) -> *const c_char;
    pub fn rd_kafka_last_error() -> c_int;
    pub fn rd_kafka_error_code(error: *const rd::rd_kafka_error_t) -> c_int;
    pub fn rd_kafka_event_error(rkev: *mut rd::rd_kafka_event_t) -> c_int;
    pub fn rd_kafka_fatal_error(
        rk: *mut rd::rd_kafka_t,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_test_fatal_error(
        rk: *mut rd::rd_kafka_t,
        err: c_int,
        reason: *const c_char,
    ) -> c_int;
    pub fn rd_kafka_flush(rk: *mut rd::rd_kafka_t, timeout_ms: c_int) -> c_int;
    pub fn rd_kafka_purge(rk: *mut rd::rd_kafka_t, purge_flags: c_int) -> c_int;
    pub fn rd_kafka_set_log_queue(
        rk: *mut rd::rd_kafka_t,
        rkqu: *mut rd::rd_kafka_queue_t,
    ) -> c_int;
    pub fn rd_kafka_header_add(
        hdrs: *mut rd::rd_kafka_headers_t,
        name: *const c_char,
        name_size: isize,
        value: *const c_void,
        value_size: isize,
    ) -> c_int;
    pub fn rd_kafka_metadata(
        rk: *mut rd::rd_kafka_t,
        all_topics: c_int,
        only_rkt: *mut rd::rd_kafka_topic_t,
        metadatap: *mut *const rd::rd_kafka_metadata,
        timeout_ms: c_int,
    ) -> c_int;
    pub fn rd_kafka_oauthbearer_set_token(
        rk: *mut rd::rd_kafka_t,
        token_value: *const c_char,
        md_lifetime_ms: i64,
        md_principal_name: *const c_char,
        extensions: *mut *const c_char,
        extension_size: usize,
        errstr: *mut c_char,
        errstr_size: usize,
    ) -> c_int;
    pub fn rd_kafka_oauthbearer_set_token_failure(
        rk: *mut rd::rd_kafka_t,
        errstr: *const c_char,
    ) -> c_int;
    pub fn rd_kafka_mock_broker_set_down(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
    ) -> c_int;
    pub fn rd_kafka_mock_broker_set_up(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
    ) -> c_int;
    pub fn rd_kafka_mock_broker_set_rtt(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        broker_id: i32,
        rtt_ms: c_int,
    ) -> c_int;
    pub fn rd_kafka_mock_partition_set_leader(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        partition: i32,
        broker_id: i32,
    ) -> c_int;
    pub fn rd_kafka_mock_topic_create(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        partition_cnt: c_int,
        replication_factor: c_int,
    ) -> c_int;
    pub fn rd_kafka_mock_topic_set_error(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        topic: *const c_char,
        err: c_int,
    );
    pub fn rd_kafka_mock_push_request_errors_array(
        mcluster: *mut rd::rd_kafka_mock_cluster_t,
        ApiKey: i16,
        cnt: usize,
        errors: *const c_int,
    );
}

/// Reads an error-code field of a librdkafka struct (bound as `rd_kafka_resp_err_t`) as the
/// `int` it is, without ever making a Rust enum of it.
///
/// # Safety
/// `field` must point to a readable, initialised error-code field of a live C struct.
pub unsafe fn read_code(field: *const rd::rd_kafka_resp_err_t) -> i32 {
    // SAFETY: the field is a C enum, an `int` in memory (the caller vouches that it is
    // live); it is read as that int, which every bit pattern is.
    unsafe { field.cast::<i32>().read() }
}
