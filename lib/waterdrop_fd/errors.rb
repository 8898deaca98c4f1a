# frozen_string_literal: true

require_relative "rdkafka_error_methods"
require_relative "rdkafka_bridge"

module WaterdropFd
  # Base class of the errors raised by the native layer.
  class Error < StandardError
    extend RdkafkaBridge
  end

  # An error reported by librdkafka (see {RdkafkaErrorMethods}): {#code} is librdkafka's
  # error name as a Symbol and {#rdkafka_response} its number. When `Rdkafka::RdkafkaError`
  # exists, instances are also `Rdkafka::RdkafkaError`s (see {RdkafkaBridge}).
  class RdkafkaError < Error
    include RdkafkaErrorMethods
  end

  # Raised when the librdkafka client behind a producer is closed.
  class ClosedProducerError < Error; end

  # Raised when a librdkafka client created before `fork` is used in the child. The
  # WaterDrop producer reconnects transparently, so users see this only through the
  # native layer.
  class InheritedClientError < Error; end

  # A librdkafka configuration property was rejected (unknown key or bad value); the
  # message is librdkafka's own.
  class ConfigError < Error; end

  # librdkafka could not create a client from a valid configuration.
  class ClientCreationError < Error; end

  # Waiting for a delivery report took longer than allowed. The handle can be waited on
  # again.
  class WaitTimeoutError < Error; end
end
