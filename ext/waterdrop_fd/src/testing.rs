//! `WaterdropFd::Testing::MockCluster`: librdkafka's mock cluster for specs, demos and
//! benchmarks, with fault injection.

use magnus::{prelude::*, DataTypeFunctions, Error as RbError, RArray, RModule, Ruby, TypedData};
use parking_lot::Mutex;

use crate::errors::{Error, Result};
use crate::kafka::mock;

#[derive(TypedData, DataTypeFunctions)]
#[magnus(class = "WaterdropFd::Testing::MockCluster", free_immediately, size)]
pub struct MockCluster {
    inner: Mutex<Option<mock::MockCluster>>,
}

impl MockCluster {
    fn new(brokers: i32) -> Result<Self> {
        if !(1..=64).contains(&brokers) {
            return Err(Error::Argument(format!(
                "brokers must be between 1 and 64, got {brokers}"
            )));
        }
        let cluster = mock::MockCluster::new(brokers).map_err(Error::ClientCreation)?;
        Ok(Self {
            inner: Mutex::new(Some(cluster)),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mock::MockCluster) -> std::result::Result<R, crate::kafka::KafkaError>,
    ) -> Result<R> {
        let guard = self.inner.lock();
        let cluster = guard
            .as_ref()
            .ok_or_else(|| Error::Argument("the mock cluster is closed".into()))?;
        f(cluster).map_err(Error::Kafka)
    }

    fn bootstrap_servers(&self) -> Result<String> {
        self.with(|c| Ok(c.bootstrap_servers().to_owned()))
    }

    fn create_topic(&self, name: String, partitions: i32, replication_factor: i32) -> Result<()> {
        self.with(|c| c.create_topic(&name, partitions, replication_factor))
    }

    fn broker_down(&self, broker: i32) -> Result<()> {
        self.with(|c| c.broker_down(broker))
    }

    fn broker_up(&self, broker: i32) -> Result<()> {
        self.with(|c| c.broker_up(broker))
    }

    fn set_rtt(&self, broker: i32, ms: i32) -> Result<()> {
        self.with(|c| c.set_rtt(broker, ms))
    }

    fn push_request_errors(&self, api_key: i16, codes: RArray) -> Result<()> {
        let codes: Vec<i32> = codes.to_vec()?;
        self.with(|c| {
            c.push_request_errors(api_key, &codes);
            Ok(())
        })
    }

    fn clear_request_errors(&self, api_key: i16) -> Result<()> {
        self.with(|c| {
            c.clear_request_errors(api_key);
            Ok(())
        })
    }

    fn partition_set_leader(&self, topic: String, partition: i32, broker: i32) -> Result<()> {
        self.with(|c| c.partition_set_leader(&topic, partition, broker))
    }

    fn topic_set_error(&self, topic: String, code: i32) -> Result<()> {
        self.with(|c| c.topic_set_error(&topic, code))
    }

    fn close(&self) -> bool {
        self.inner.lock().take().is_some()
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
