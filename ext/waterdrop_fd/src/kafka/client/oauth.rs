//! OAuth bearer tokens handed to librdkafka after an `oauthbearer.token_refresh` event.

use std::os::raw::c_char;

use super::super::{cstr_lossy, KafkaError};
use super::{check, cstring_arg, Client, ClientError};

impl Client {
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
                crate::kafka::ffi::rd_kafka_oauthbearer_set_token(
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
                )
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
            crate::kafka::ffi::rd_kafka_oauthbearer_set_token_failure(
                h.rk.as_ptr(),
                reason.as_ptr(),
            )
        })?;
        check(code)
    }
}
