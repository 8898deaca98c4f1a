//! librdkafka's built-in mock Kafka cluster, hosted by a dedicated client handle.

use std::ffi::CString;
use std::ptr::NonNull;

use rdkafka_sys as rd;

use super::conf::Conf;
use super::{cstr_lossy, KafkaError};
use crate::fork;

/// A mock cluster living in this process, reachable by any Kafka client (also from other
/// processes) through its bootstrap servers on 127.0.0.1.
pub struct MockCluster {
    host: NonNull<rd::rd_kafka_t>,
    cluster: NonNull<rd::rd_kafka_mock_cluster_t>,
    bootstrap_servers: String,
    fork_generation: u64,
}

// SAFETY: librdkafka's mock cluster API is thread-safe (it forwards every call to the
// cluster's own thread); the pointers are only used through it.
unsafe impl Send for MockCluster {}
// SAFETY: as above.
unsafe impl Sync for MockCluster {}

impl MockCluster {
    pub fn new(brokers: i32) -> Result<Self, String> {
        let mut conf = Conf::new();
        conf.set("log_level", "0")?;
        let mut errstr = [0 as std::os::raw::c_char; 512];
        let raw = conf.into_raw();
        let _guard = fork::lifecycle_guard();
        // SAFETY: raw is a conf we own; on failure it is still ours and destroyed.
        let host = unsafe {
            rd::rd_kafka_new(
                rd::rd_kafka_type_t::RD_KAFKA_PRODUCER,
                raw,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        let Some(host) = NonNull::new(host) else {
            // SAFETY: rd_kafka_new failed, so the conf is still ours.
            unsafe { rd::rd_kafka_conf_destroy(raw) };
            return Err(cstr_lossy(errstr.as_ptr()));
        };
        // librdkafka starts the cluster's thread with the caller's signal mask (unlike the
        // client threads of rd_kafka_new, which block every signal). A signal delivered to
        // that thread (SIGCHLD after a fork, for one) makes its poll(2) fail with EINTR,
        // which the mock cluster treats as fatal: it shuts down. So the thread is started
        // with every signal blocked.
        let cluster = with_signals_blocked(|| {
            // SAFETY: host is live; the cluster is destroyed before host in Drop.
            unsafe { rd::rd_kafka_mock_cluster_new(host.as_ptr(), brokers) }
        });
        let Some(cluster) = NonNull::new(cluster) else {
            // SAFETY: host is ours and unused.
            unsafe { rd::rd_kafka_destroy(host.as_ptr()) };
            return Err(format!(
                "could not create a mock cluster with {brokers} brokers"
            ));
        };
        // SAFETY: cluster is live; the string is owned by it and copied here.
        let bootstrap_servers =
            cstr_lossy(unsafe { rd::rd_kafka_mock_cluster_bootstraps(cluster.as_ptr()) });
        Ok(Self {
            host,
            cluster,
            bootstrap_servers,
            fork_generation: fork::generation(),
        })
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    fn raw(&self) -> *mut rd::rd_kafka_mock_cluster_t {
        self.cluster.as_ptr()
    }

    pub fn create_topic(&self, name: &str, partitions: i32, rf: i32) -> Result<(), KafkaError> {
        let cname = cstring(name)?;
        // SAFETY: the cluster is live; the name is copied.
        code(unsafe {
            crate::kafka::ffi::rd_kafka_mock_topic_create(
                self.raw(),
                cname.as_ptr(),
                partitions,
                rf,
            )
        })
    }

    pub fn broker_down(&self, broker: i32) -> Result<(), KafkaError> {
        // SAFETY: the cluster is live.
        code(unsafe { crate::kafka::ffi::rd_kafka_mock_broker_set_down(self.raw(), broker) })
    }

    pub fn broker_up(&self, broker: i32) -> Result<(), KafkaError> {
        // SAFETY: the cluster is live.
        code(unsafe { crate::kafka::ffi::rd_kafka_mock_broker_set_up(self.raw(), broker) })
    }

    pub fn set_rtt(&self, broker: i32, ms: i32) -> Result<(), KafkaError> {
        // SAFETY: the cluster is live.
        code(unsafe { crate::kafka::ffi::rd_kafka_mock_broker_set_rtt(self.raw(), broker, ms) })
    }

    pub fn push_request_errors(&self, api_key: i16, errors: &[i32]) {
        // SAFETY: the cluster is live; the array of codes (C ints) is read during the call.
        unsafe {
            crate::kafka::ffi::rd_kafka_mock_push_request_errors_array(
                self.raw(),
                api_key,
                errors.len(),
                errors.as_ptr(),
            )
        }
    }

    pub fn clear_request_errors(&self, api_key: i16) {
        // SAFETY: the cluster is live.
        unsafe { rd::rd_kafka_mock_clear_request_errors(self.raw(), api_key) }
    }

    pub fn partition_set_leader(
        &self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<(), KafkaError> {
        let ctopic = cstring(topic)?;
        // SAFETY: the cluster is live; the topic name is copied.
        code(unsafe {
            crate::kafka::ffi::rd_kafka_mock_partition_set_leader(
                self.raw(),
                ctopic.as_ptr(),
                partition,
                broker,
            )
        })
    }

    pub fn topic_set_error(&self, topic: &str, err: i32) -> Result<(), KafkaError> {
        let ctopic = cstring(topic)?;
        // SAFETY: the cluster is live; the topic name is copied.
        unsafe {
            crate::kafka::ffi::rd_kafka_mock_topic_set_error(self.raw(), ctopic.as_ptr(), err)
        };
        Ok(())
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        if self.fork_generation != fork::generation() {
            // The cluster's threads live in the parent; leave its memory alone.
            return;
        }
        let _guard = fork::lifecycle_guard();
        // SAFETY: both objects are ours; the cluster goes first, then its host.
        unsafe {
            rd::rd_kafka_mock_cluster_destroy(self.cluster.as_ptr());
            rd::rd_kafka_destroy(self.host.as_ptr());
        }
    }
}

/// Runs `f` with every signal blocked in the calling thread (threads it starts inherit
/// that mask), then restores the previous mask.
fn with_signals_blocked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: sigset_t is plain data that sigfillset/pthread_sigmask initialise; the old
    // mask is restored below on every path (f cannot unwind: it only calls into C).
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let r = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

fn cstring(s: &str) -> Result<CString, KafkaError> {
    CString::new(s).map_err(|_| {
        KafkaError::from_code(rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__INVALID_ARG as i32)
    })
}

fn code(c: i32) -> Result<(), KafkaError> {
    if c == 0 {
        Ok(())
    } else {
        Err(KafkaError::from_code(c))
    }
}
