//! librdkafka configuration objects.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr::NonNull;

use rdkafka_sys as rd;

use super::cstr_lossy;

/// An owned `rd_kafka_conf_t`. Consumed by [`super::client::Client::new_producer`].
pub struct Conf {
    ptr: Option<NonNull<rd::rd_kafka_conf_t>>,
}

impl Conf {
    pub fn new() -> Self {
        // SAFETY: rd_kafka_conf_new always returns a fresh object (it aborts on OOM).
        let ptr = unsafe { rd::rd_kafka_conf_new() };
        Self {
            ptr: NonNull::new(ptr),
        }
    }

    /// Sets one property; the error is librdkafka's own message (unknown key, bad value).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let ckey = CString::new(key).map_err(|_| format!("{key:?}: contains a NUL byte"))?;
        let cvalue =
            CString::new(value).map_err(|_| format!("{key}: value contains a NUL byte"))?;
        let mut errstr = [0 as c_char; 512];
        // SAFETY: the conf is live (owned by self); key and value are NUL-terminated and
        // outlive the call; errstr is a writable buffer of the size we pass.
        let res = unsafe {
            rd::rd_kafka_conf_set(
                self.raw(),
                ckey.as_ptr(),
                cvalue.as_ptr(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if res == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
            Ok(())
        } else {
            Err(cstr_lossy(errstr.as_ptr()))
        }
    }

    /// Reads a property back (after defaults were applied).
    pub fn get(&mut self, key: &str) -> Option<String> {
        let ckey = CString::new(key).ok()?;
        let mut size: usize = 0;
        // SAFETY: a NULL destination asks librdkafka for the needed size only.
        let res = unsafe {
            rd::rd_kafka_conf_get(self.raw(), ckey.as_ptr(), std::ptr::null_mut(), &mut size)
        };
        if res != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
            return None;
        }
        let mut buf = vec![0 as c_char; size.max(1)];
        // SAFETY: buf has `size` bytes, as librdkafka asked for.
        let res = unsafe {
            rd::rd_kafka_conf_get(self.raw(), ckey.as_ptr(), buf.as_mut_ptr(), &mut size)
        };
        (res == rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK).then(|| cstr_lossy(buf.as_ptr()))
    }

    /// Routes the given event kinds (RD_KAFKA_EVENT_*) to the main queue as events.
    pub fn enable_events(&mut self, events: i32) {
        // SAFETY: the conf is live; this only stores a bit mask.
        unsafe { rd::rd_kafka_conf_set_events(self.raw(), events) }
    }

    pub(crate) fn raw(&self) -> *mut rd::rd_kafka_conf_t {
        self.ptr.expect("conf already consumed").as_ptr()
    }

    /// Hands ownership of the raw conf over (to rd_kafka_new).
    pub(crate) fn into_raw(mut self) -> *mut rd::rd_kafka_conf_t {
        self.ptr.take().expect("conf already consumed").as_ptr()
    }
}

impl Default for Conf {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Conf {
    fn drop(&mut self) {
        if let Some(ptr) = self.ptr.take() {
            // SAFETY: we still own the conf (it was not handed to rd_kafka_new).
            unsafe { rd::rd_kafka_conf_destroy(ptr.as_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_fail_with_librdkafkas_message() {
        let mut conf = Conf::new();
        let err = conf.set("not.a.real.key", "1").unwrap_err();
        assert!(err.contains("No such configuration property"), "{err}");
    }

    #[test]
    fn invalid_values_fail_with_librdkafkas_message() {
        let mut conf = Conf::new();
        let err = conf.set("batch.num.messages", "banana").unwrap_err();
        assert!(
            err.contains("Invalid value") && err.contains("batch.num.messages"),
            "{err}"
        );
    }

    #[test]
    fn values_read_back() {
        let mut conf = Conf::new();
        conf.set("client.id", "abc").unwrap();
        assert_eq!(conf.get("client.id").as_deref(), Some("abc"));
    }
}
