//! Native errors and the Ruby exception classes they become.
//!
//! The classes are defined in Ruby (`lib/waterdrop_fd/errors.rb`, loaded before the
//! extension) so that they carry documentation and helpers; `init` defines any that are
//! missing so the extension also works on its own (in `cargo test`).

use magnus::value::{Lazy, ReprValue};
use magnus::{prelude::*, Error as RbError, ExceptionClass, RModule, Ruby};

use crate::kafka::client::ClientError;
use crate::kafka::KafkaError;

/// Everything native code can fail with.
#[derive(Debug)]
pub enum Error {
    /// librdkafka returned an error.
    Kafka(KafkaError),
    /// The producer's librdkafka client is closed (or closing).
    Closed,
    /// The librdkafka client was created by a parent process (this process was forked).
    Inherited,
    /// A configuration property was rejected by librdkafka.
    Config(String),
    /// librdkafka could not create the client.
    ClientCreation(String),
    /// An argument of the wrong type or value.
    Argument(String),
    /// An operating-system error (pipes, threads).
    Io(String),
    /// A Ruby exception (or throw/kill) to propagate unchanged.
    Ruby(RbError),
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Closed | ClientError::Busy => Error::Closed,
            ClientError::Inherited => Error::Inherited,
            ClientError::Kafka(k) => Error::Kafka(k),
        }
    }
}

impl From<KafkaError> for Error {
    fn from(e: KafkaError) -> Self {
        Error::Kafka(e)
    }
}

impl From<RbError> for Error {
    fn from(e: RbError) -> Self {
        Error::Ruby(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

static ROOT: Lazy<RModule> = Lazy::new(|ruby| {
    ruby.define_module("WaterdropFd")
        .expect("WaterdropFd module")
});

fn class(ruby: &Ruby, name: &str) -> ExceptionClass {
    ruby.get_inner(&ROOT)
        .const_get::<_, ExceptionClass>(name)
        .unwrap_or_else(|_| ruby.exception_runtime_error())
}

impl magnus::error::IntoError for Error {
    fn into_error(self, ruby: &Ruby) -> RbError {
        match self {
            Error::Kafka(k) => kafka_error(ruby, &k),
            Error::Closed => RbError::new(
                class(ruby, "ClosedProducerError"),
                "the producer's librdkafka client is closed",
            ),
            Error::Inherited => RbError::new(
                class(ruby, "InheritedClientError"),
                "this librdkafka client was created in a parent process (before fork) and cannot be used here",
            ),
            Error::Config(msg) => RbError::new(class(ruby, "ConfigError"), msg),
            Error::ClientCreation(msg) => RbError::new(class(ruby, "ClientCreationError"), msg),
            Error::Argument(msg) => RbError::new(ruby.exception_arg_error(), msg),
            Error::Io(msg) => RbError::new(ruby.exception_runtime_error(), format!("waterdrop_fd: {msg}")),
            Error::Ruby(e) => e,
        }
    }
}

/// Builds a `WaterdropFd::RdkafkaError` (falls back to RuntimeError if that fails).
/// Through the class's Ruby `new`, which answers a subclass of `Rdkafka::RdkafkaError`
/// when that class exists (lib/waterdrop_fd/rdkafka_bridge.rb).
pub fn kafka_error(ruby: &Ruby, k: &KafkaError) -> RbError {
    let cls = class(ruby, "RdkafkaError");
    let kwargs = ruby.hash_new();
    let _ = kwargs.aset(ruby.to_symbol("fatal"), k.fatal);
    let _ = kwargs.aset(ruby.to_symbol("retryable"), k.retriable);
    let _ = kwargs.aset(ruby.to_symbol("abortable"), k.txn_requires_abort);
    let args = (k.code, k.message.as_str(), magnus::KwArgs(kwargs));
    match cls.funcall::<_, _, magnus::Exception>("new", args) {
        Ok(exc) => RbError::from(exc),
        Err(e) => e,
    }
}

/// Defines any exception class that the Ruby side did not define (standalone use).
pub fn init(ruby: &Ruby) -> std::result::Result<(), RbError> {
    let root = ruby.get_inner(&ROOT);
    let base = match root.const_get::<_, ExceptionClass>("Error") {
        Ok(c) => c,
        Err(_) => root.define_error("Error", ruby.exception_standard_error())?,
    };
    for name in [
        "RdkafkaError",
        "ClosedProducerError",
        "InheritedClientError",
        "ConfigError",
        "ClientCreationError",
    ] {
        if root.const_get::<_, magnus::Value>(name).is_err() {
            root.define_error(name, base)?;
        }
    }
    let _ = base.as_value();
    Ok(())
}

pub type Result<T> = std::result::Result<T, Error>;
