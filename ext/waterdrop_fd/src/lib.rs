//! Native core of the `waterdrop_fd` gem. See DESIGN.md §2 for the map of modules:
//! `kafka/` holds every librdkafka call, `gvl.rs` is the only place the GVL is released,
//! `worker.rs` runs blocking librdkafka calls off Ruby threads, `poller.rs` is the FD
//! poller, `producer.rs` / `delivery.rs` / `delivery_report.rs` the producer, its delivery handles
//! and their reports.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod barrier;
pub mod cgmetadata;
pub mod countdown;
pub mod delivery;
pub mod delivery_report;
pub mod errors;
pub mod fastpath;
pub mod fork;
pub mod gvl;
pub mod inflight;
pub mod kafka;
pub mod pipe;
pub mod poller;
pub mod producer;
pub mod testing;
pub mod worker;

use magnus::{function, prelude::*, Error, Ruby};

fn librdkafka_version() -> String {
    kafka::version()
}

fn builtin_features() -> String {
    kafka::builtin_features()
}

fn err2name(code: i32) -> String {
    kafka::err2name(code)
}

fn err2str(code: i32) -> String {
    kafka::err2str(code)
}

fn fork_generation() -> u64 {
    fork::generation()
}

/// The `Process._fork` hook's fallback, for a child the `pthread_atfork` handler missed.
fn advance_fork_generation() -> u64 {
    fork::advance_generation()
}

fn native_thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[magnus::init(name = "waterdrop_fd")]
pub fn init(ruby: &Ruby) -> Result<(), Error> {
    fork::install();
    let root = ruby.define_module("WaterdropFd")?;
    errors::init(ruby)?;
    fastpath::init(ruby);
    let native = root.define_module("Native")?;
    native.define_singleton_method("librdkafka_version", function!(librdkafka_version, 0))?;
    native.define_singleton_method("builtin_features", function!(builtin_features, 0))?;
    native.define_singleton_method("err2name", function!(err2name, 1))?;
    native.define_singleton_method("err2str", function!(err2str, 1))?;
    native.define_singleton_method("fork_generation", function!(fork_generation, 0))?;
    native.define_singleton_method(
        "advance_fork_generation",
        function!(advance_fork_generation, 0),
    )?;
    native.define_singleton_method("native_thread_count", function!(native_thread_count, 0))?;
    native.define_singleton_method(
        "on_a_poller_thread?",
        function!(poller::on_a_poller_thread, 0),
    )?;
    delivery_report::init(ruby, &root)?;
    delivery::init(ruby, &root)?;
    countdown::init(ruby, &root)?;
    producer::init(ruby, &native)?;
    cgmetadata::init(ruby, &native)?;
    poller::init(ruby, &native)?;
    testing::init(ruby, &root)?;
    resolve_classes(ruby);
    Ok(())
}

/// magnus looks a TypedData's class up lazily, on first use, with a Ruby call made under a
/// lock; two threads using the extension for the first time at once could then deadlock
/// (one waits for the GVL inside the lookup, the other holds the GVL waiting for the lock).
/// Resolving every class here, while `require` runs on one thread, rules that out.
fn resolve_classes(ruby: &Ruby) {
    use magnus::TypedData;
    let _ = delivery::DeliveryHandle::class(ruby);
    let _ = delivery_report::DeliveryReport::class(ruby);
    let _ = producer::Producer::class(ruby);
    let _ = poller::Poller::class(ruby);
    let _ = testing::MockCluster::class(ruby);
}
