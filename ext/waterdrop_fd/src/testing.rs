//! `WaterdropFd::Testing::MockCluster`: librdkafka's mock cluster for specs, demos and
//! benchmarks, with fault injection.

use magnus::{prelude::*, DataTypeFunctions, Error as RbError, RArray, RModule, Ruby, TypedData};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::errors::{Error, Result};
use crate::kafka::mock;
use crate::worker;

/// How long a mock cluster command may take before the caller gets an error.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(TypedData, DataTypeFunctions)]
#[magnus(class = "WaterdropFd::Testing::MockCluster", free_immediately, size)]
pub struct MockCluster {
    inner: Mutex<Option<Arc<mock::MockCluster>>>,
    bootstrap_servers: String,
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        // Destroying a cluster waits for its thread: never on the GC's thread.
        if let Some(cluster) = self.inner.get_mut().take() {
            if let Err(e) = worker::detach("mock-gc", move || drop(cluster)) {
                eprintln!("waterdrop_fd: could not destroy a dropped mock cluster: {e}");
            }
        }
    }
}

impl MockCluster {
    fn new(ruby: &Ruby, brokers: i32) -> Result<Self> {
        if !(1..=64).contains(&brokers) {
            return Err(Error::Argument(format!(
                "brokers must be between 1 and 64, got {brokers}"
            )));
        }
        let created = worker::run(ruby, "mock-new", Some(COMMAND_TIMEOUT), move || {
            mock::MockCluster::new(brokers)
        })?
        .ok_or_else(|| Error::Io("the mock cluster did not start within 30 s".into()))?;
        let cluster = created.map_err(Error::ClientCreation)?;
        Ok(Self {
            bootstrap_servers: cluster.bootstrap_servers().to_owned(),
            inner: Mutex::new(Some(Arc::new(cluster))),
        })
    }

    /// Runs one mock-cluster command on a worker thread (librdkafka waits for the cluster's
    /// thread to answer; a Ruby thread must never block on that with the GVL held).
    fn with<R, F>(&self, ruby: &Ruby, f: F) -> Result<R>
    where
        F: FnOnce(&mock::MockCluster) -> std::result::Result<R, crate::kafka::KafkaError>
            + Send
            + 'static,
        R: Send + 'static,
    {
        let cluster = self
            .inner
            .lock()
            .clone()
            .ok_or_else(|| Error::Argument("the mock cluster is closed".into()))?;
        let outcome = worker::run(ruby, "mock", Some(COMMAND_TIMEOUT), move || f(&cluster))?;
        match outcome {
            Some(r) => r.map_err(Error::Kafka),
            None => Err(Error::Io(
                "the mock cluster did not answer within 30 s".into(),
            )),
        }
    }

    fn bootstrap_servers(&self) -> Result<String> {
        if self.inner.lock().is_none() {
            return Err(Error::Argument("the mock cluster is closed".into()));
        }
        Ok(self.bootstrap_servers.clone())
    }

    fn create_topic(
        ruby: &Ruby,
        rb_self: &Self,
        name: String,
        partitions: i32,
        replication_factor: i32,
    ) -> Result<()> {
        rb_self.with(ruby, move |c| {
            c.create_topic(&name, partitions, replication_factor)
        })
    }

    fn broker_down(ruby: &Ruby, rb_self: &Self, broker: i32) -> Result<()> {
        rb_self.with(ruby, move |c| c.broker_down(broker))
    }

    fn broker_up(ruby: &Ruby, rb_self: &Self, broker: i32) -> Result<()> {
        rb_self.with(ruby, move |c| c.broker_up(broker))
    }

    fn set_rtt(ruby: &Ruby, rb_self: &Self, broker: i32, ms: i32) -> Result<()> {
        rb_self.with(ruby, move |c| c.set_rtt(broker, ms))
    }

    fn push_request_errors(ruby: &Ruby, rb_self: &Self, api_key: i16, codes: RArray) -> Result<()> {
        let codes: Vec<i32> = codes.to_vec()?;
        rb_self.with(ruby, move |c| {
            c.push_request_errors(api_key, &codes);
            Ok(())
        })
    }

    fn clear_request_errors(ruby: &Ruby, rb_self: &Self, api_key: i16) -> Result<()> {
        rb_self.with(ruby, move |c| {
            c.clear_request_errors(api_key);
            Ok(())
        })
    }

    fn partition_set_leader(
        ruby: &Ruby,
        rb_self: &Self,
        topic: String,
        partition: i32,
        broker: i32,
    ) -> Result<()> {
        rb_self.with(ruby, move |c| {
            c.partition_set_leader(&topic, partition, broker)
        })
    }

    fn topic_set_error(ruby: &Ruby, rb_self: &Self, topic: String, code: i32) -> Result<()> {
        rb_self.with(ruby, move |c| c.topic_set_error(&topic, code))
    }

    /// Shuts the cluster down (on a worker thread). Returns false when it was closed already.
    fn close(ruby: &Ruby, rb_self: &Self) -> Result<bool> {
        let Some(cluster) = rb_self.inner.lock().take() else {
            return Ok(false);
        };
        worker::run(ruby, "mock-close", Some(COMMAND_TIMEOUT), move || {
            drop(cluster)
        })?;
        Ok(true)
    }

    fn is_closed(&self) -> bool {
        self.inner.lock().is_none()
    }
}

pub fn init(ruby: &Ruby, root: &RModule) -> std::result::Result<(), RbError> {
    let testing = root.define_module("Testing")?;
    let class = testing.define_class("MockCluster", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_new", magnus::function!(MockCluster::new, 1))?;
    class.define_method(
        "bootstrap_servers",
        magnus::method!(MockCluster::bootstrap_servers, 0),
    )?;
    class.define_private_method(
        "_create_topic",
        magnus::method!(MockCluster::create_topic, 3),
    )?;
    class.define_private_method("_broker_down", magnus::method!(MockCluster::broker_down, 1))?;
    class.define_private_method("_broker_up", magnus::method!(MockCluster::broker_up, 1))?;
    class.define_private_method("_set_rtt", magnus::method!(MockCluster::set_rtt, 2))?;
    class.define_private_method(
        "_push_request_errors",
        magnus::method!(MockCluster::push_request_errors, 2),
    )?;
    class.define_private_method(
        "_clear_request_errors",
        magnus::method!(MockCluster::clear_request_errors, 1),
    )?;
    class.define_private_method(
        "_partition_set_leader",
        magnus::method!(MockCluster::partition_set_leader, 3),
    )?;
    class.define_private_method(
        "_topic_set_error",
        magnus::method!(MockCluster::topic_set_error, 2),
    )?;
    class.define_method("close", magnus::method!(MockCluster::close, 0))?;
    class.define_method("closed?", magnus::method!(MockCluster::is_closed, 0))?;
    Ok(())
}
