//! Broker address resolution for librdkafka (its `resolve_cb`), made safe across `fork`.
//!
//! glibc's `getaddrinfo` with `AI_ADDRCONFIG` (what librdkafka asks for) takes a private
//! lock while it reads the interface list. A process that forks while one of librdkafka's
//! broker threads is inside that call hands the child a lock that nobody will ever
//! release: every later `getaddrinfo` in the child (the reconnecting producer's broker
//! threads) blocks for ever and its messages are never sent. Two defences:
//!
//! * numeric hosts (`127.0.0.1`, `::1`, the common case in containers) are resolved with
//!   `AI_NUMERICHOST` and without `AI_ADDRCONFIG`, which never takes that lock, so they work
//!   in a child even when some other thread of the parent (Ruby's own resolver, say) held it;
//! * every resolution runs under [`fork::resolve_guard`], and fork waits for it, so no child
//!   is born while one of this gem's clients is inside `getaddrinfo`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::net::IpAddr;

use crate::fork;

use super::conf::Conf;

extern "C" {
    // librdkafka's own function (linked statically); rdkafka-sys leaves it out of its
    // bindings because of the `struct addrinfo` in its signature.
    fn rd_kafka_conf_set_resolve_cb(
        conf: *mut rdkafka_sys::rd_kafka_conf_t,
        resolve_cb: Option<ResolveCb>,
    );
}

type ResolveCb = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const libc::addrinfo,
    *mut *mut libc::addrinfo,
    *mut c_void,
) -> c_int;

/// Installs the resolver on a configuration.
pub fn install(conf: &mut Conf) {
    // SAFETY: the conf is live; `resolve` matches the callback signature of rdkafka.h.
    unsafe { rd_kafka_conf_set_resolve_cb(conf.raw(), Some(resolve)) }
}

/// True for a literal IPv4 or IPv6 address.
fn is_numeric_host(node: &[u8]) -> bool {
    std::str::from_utf8(node)
        .ok()
        .and_then(|s| s.parse::<IpAddr>().ok())
        .is_some()
}

/// librdkafka's resolve callback: `getaddrinfo(3)`, or `freeaddrinfo(3)` when node,
/// service and hints are all NULL.
unsafe extern "C" fn resolve(
    node: *const c_char,
    service: *const c_char,
    hints: *const libc::addrinfo,
    res: *mut *mut libc::addrinfo,
    _opaque: *mut c_void,
) -> c_int {
    if node.is_null() && service.is_null() && hints.is_null() {
        // SAFETY: librdkafka passes back the list this callback returned earlier.
        unsafe {
            if !res.is_null() && !(*res).is_null() {
                libc::freeaddrinfo(*res);
                *res = std::ptr::null_mut();
            }
        }
        return 0;
    }
    let mut local: libc::addrinfo = if hints.is_null() {
        // SAFETY: all-zero is a valid `addrinfo` (no flags, any family, null pointers).
        unsafe { std::mem::zeroed() }
    } else {
        // SAFETY: a non-NULL hints points to librdkafka's initialised struct on its stack.
        unsafe { *hints }
    };
    // SAFETY: a non-NULL node is a NUL-terminated string owned by the caller.
    if !node.is_null() && is_numeric_host(unsafe { CStr::from_ptr(node) }.to_bytes()) {
        local.ai_flags = (local.ai_flags & !libc::AI_ADDRCONFIG) | libc::AI_NUMERICHOST;
    }
    let _no_fork_meanwhile = fork::resolve_guard();
    // SAFETY: the arguments are those librdkafka gave us, with our own copy of the hints.
    unsafe { libc::getaddrinfo(node, service, &local, res) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn numeric_hosts_are_recognised() {
        assert!(is_numeric_host(b"127.0.0.1"));
        assert!(is_numeric_host(b"::1"));
        assert!(!is_numeric_host(b"localhost"));
        assert!(!is_numeric_host(b"kafka-1.internal"));
    }

    #[test]
    fn resolves_a_numeric_host_and_frees_the_result() {
        let node = CString::new("127.0.0.1").unwrap();
        let service = CString::new("9092").unwrap();
        // SAFETY: zeroed hints are valid for getaddrinfo.
        let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_flags = libc::AI_ADDRCONFIG;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        // SAFETY: valid strings, hints and result pointer, as librdkafka passes them.
        let rc = unsafe {
            resolve(
                node.as_ptr(),
                service.as_ptr(),
                &hints,
                &mut res,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0);
        assert!(!res.is_null());
        // SAFETY: res is the list getaddrinfo just returned.
        let family = unsafe { (*res).ai_family };
        assert_eq!(family, libc::AF_INET);
        // SAFETY: the free form of the callback, as librdkafka calls it.
        let rc = unsafe {
            resolve(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &mut res,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0);
        assert!(res.is_null());
    }
}
