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
    /// An operating-system error (pipes, poll, threads): `WaterdropFd::SystemError`.
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

/// The base class every native error derives from (`WaterdropFd::Error`).
static BASE: Lazy<ExceptionClass> = Lazy::new(|ruby| {
    let root = ruby.get_inner(&ROOT);
    root.const_get::<_, ExceptionClass>("Error")
        .or_else(|_| root.define_error("Error", ruby.exception_standard_error()))
        .expect("WaterdropFd::Error")
});

/// The exception classes native code raises, looked up once (the Ruby side defines them
/// with their documentation in lib/waterdrop_fd/errors.rb, loaded first; any missing one,
/// as in `cargo test`, is defined here under `WaterdropFd::Error`).
macro_rules! exception_classes {
    ($($class:ident => $name:literal),* $(,)?) => {
        $(
            static $class: Lazy<ExceptionClass> = Lazy::new(|ruby| family_class(ruby, $name));
        )*
        const EXCEPTION_CLASSES: &[&Lazy<ExceptionClass>] = &[$(&$class),*];
    };
}

exception_classes! {
    RDKAFKA_ERROR => "RdkafkaError",
    CLOSED_PRODUCER_ERROR => "ClosedProducerError",
    INHERITED_CLIENT_ERROR => "InheritedClientError",
    CONFIG_ERROR => "ConfigError",
    CLIENT_CREATION_ERROR => "ClientCreationError",
    SYSTEM_ERROR => "SystemError",
}

fn family_class(ruby: &Ruby, name: &str) -> ExceptionClass {
    let root = ruby.get_inner(&ROOT);
    root.const_get::<_, ExceptionClass>(name)
        .or_else(|_| root.define_error(name, ruby.get_inner(&BASE)))
        .unwrap_or_else(|e| panic!("WaterdropFd::{name}: {e}"))
}

/// `WaterdropFd::SystemError`: an operating-system call failed (pipes, poll, threads).
pub fn system_error(ruby: &Ruby, message: String) -> RbError {
    RbError::new(ruby.get_inner(&SYSTEM_ERROR), message)
}

impl magnus::error::IntoError for Error {
    fn into_error(self, ruby: &Ruby) -> RbError {
        match self {
            Error::Kafka(k) => kafka_error(ruby, &k),
            Error::Closed => RbError::new(
                ruby.get_inner(&CLOSED_PRODUCER_ERROR),
                "the producer's librdkafka client is closed",
            ),
            Error::Inherited => RbError::new(
                ruby.get_inner(&INHERITED_CLIENT_ERROR),
                "this librdkafka client was created in a parent process (before fork) and cannot be used here",
            ),
            Error::Config(msg) => RbError::new(ruby.get_inner(&CONFIG_ERROR), msg),
            Error::ClientCreation(msg) => RbError::new(ruby.get_inner(&CLIENT_CREATION_ERROR), msg),
            Error::Argument(msg) => RbError::new(ruby.exception_arg_error(), msg),
            Error::Io(msg) => system_error(ruby, format!("waterdrop_fd: {msg}")),
            Error::Ruby(e) => e,
        }
    }
}

/// Builds a `WaterdropFd::RdkafkaError`.
/// Through the class's Ruby `new`, which answers a subclass of `Rdkafka::RdkafkaError`
/// when that class exists (lib/waterdrop_fd/rdkafka_bridge.rb).
pub fn kafka_error(ruby: &Ruby, k: &KafkaError) -> RbError {
    let cls = ruby.get_inner(&RDKAFKA_ERROR);
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

/// Looks every exception class up once, at load (defining any the Ruby side did not).
pub fn init(ruby: &Ruby) -> std::result::Result<(), RbError> {
    for class in EXCEPTION_CLASSES {
        let _ = ruby.get_inner(*class).as_value();
    }
    Ok(())
}

pub type Result<T> = std::result::Result<T, Error>;
