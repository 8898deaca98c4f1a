//! Every call into librdkafka lives under this module. The types exported here are safe
//! wrappers: raw pointers never leave it, and nothing here touches Ruby.

pub mod client;
pub mod conf;
pub mod event;
pub(crate) mod ffi;
pub mod mock;
pub mod resolve;

use std::ffi::CStr;

use rdkafka_sys as rd;

/// A librdkafka error: its numeric code and a human readable description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaError {
    pub code: i32,
    pub message: String,
    pub fatal: bool,
    pub retriable: bool,
    pub txn_requires_abort: bool,
}

impl KafkaError {
    /// An error built from a plain response code, described by librdkafka itself.
    pub fn from_code(code: i32) -> Self {
        Self {
            code,
            message: err2str(code),
            fatal: code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FATAL as i32,
            retriable: false,
            txn_requires_abort: false,
        }
    }

    /// Takes ownership of (and destroys) a `rd_kafka_error_t`. Returns `None` for NULL.
    ///
    /// # Safety
    /// `err` is NULL or an error object librdkafka handed over to the caller, not used again.
    pub(crate) unsafe fn from_error_ptr(err: *mut rd::rd_kafka_error_t) -> Option<Self> {
        if err.is_null() {
            return None;
        }
        // SAFETY: `err` is a non-NULL error object handed to us by librdkafka (the caller's
        // contract); we read it and destroy it exactly once here.
        unsafe {
            let code = crate::kafka::ffi::rd_kafka_error_code(err);
            let message = cstr_lossy(rd::rd_kafka_error_string(err));
            let fatal = rd::rd_kafka_error_is_fatal(err) != 0;
            let retriable = rd::rd_kafka_error_is_retriable(err) != 0;
            let txn_requires_abort = rd::rd_kafka_error_txn_requires_abort(err) != 0;
            rd::rd_kafka_error_destroy(err);
            Some(Self {
                code,
                message,
                fatal,
                retriable,
                txn_requires_abort,
            })
        }
    }
}

/// librdkafka's description of an error code.
pub fn err2str(code: i32) -> String {
    // SAFETY: rd_kafka_err2str accepts any value and returns a static string.
    unsafe { cstr_lossy(crate::kafka::ffi::rd_kafka_err2str(code)) }
}

/// librdkafka's symbolic name of an error code (`_QUEUE_FULL`, `MSG_SIZE_TOO_LARGE`, ...).
pub fn err2name(code: i32) -> String {
    // SAFETY: rd_kafka_err2name accepts any value and returns a static string.
    unsafe { cstr_lossy(crate::kafka::ffi::rd_kafka_err2name(code)) }
}

/// The version string of the linked librdkafka.
pub fn version() -> String {
    // SAFETY: returns a static string.
    unsafe { cstr_lossy(rd::rd_kafka_version_str()) }
}

/// The builtin features of the linked librdkafka.
pub fn builtin_features() -> String {
    let mut conf = conf::Conf::new();
    conf.get("builtin.features").unwrap_or_default()
}

/// Copies a C string into an owned String (empty for NULL).
pub(crate) fn cstr_lossy(ptr: *const std::os::raw::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: librdkafka hands out NUL-terminated strings that live at least as long as the
    // object they came from; we copy before that object is released.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_come_from_librdkafka() {
        assert_eq!(err2name(-184), "_QUEUE_FULL");
        assert_eq!(err2name(10), "MSG_SIZE_TOO_LARGE");
        assert!(err2str(-192).to_lowercase().contains("timed out"));
        assert_eq!(version(), "2.12.1");
    }

    #[test]
    fn codes_the_bindings_lack_still_get_a_name_and_a_description() {
        // 12345 is no rd_kafka_resp_err_t variant: it travels as a c_int (kafka::ffi).
        assert!(err2name(12345).contains("12345"), "{}", err2name(12345));
        assert!(!err2str(12345).is_empty());
        assert_eq!(KafkaError::from_code(12345).code, 12345);
    }

    #[test]
    fn fatal_flag_follows_the_code() {
        assert!(KafkaError::from_code(-150).fatal);
        assert!(!KafkaError::from_code(-184).fatal);
    }
}
