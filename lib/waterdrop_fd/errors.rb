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

  # An operating-system call of the native layer failed: a pipe or a thread could not be
  # created (often: out of file descriptors), or `poll(2)` failed. The message names the
  # call and the errno. Produce calls report it wrapped in a `WaterDrop::Errors::ProduceError`.
  class SystemError < Error; end

  # Waiting for a delivery report took longer than allowed. The handle can be waited on
  # again.
  class WaitTimeoutError < Error; end

  # A call that waits for delivery reports was made from a listener, which runs on the
  # poller thread that serves those reports: it could only wait until its time was up
  # (stalling every producer of that poller) and then fail a message that gets delivered.
  # It is raised at once instead, before anything is produced. From a listener, produce
  # with `produce_async` / `produce_many_async` and wait for the handles on another thread,
  # or hand the work over to another thread.
  class PollerThreadWaitError < Error
    # @param call [String] what was called (`"produce_sync"`, `"DeliveryHandle#wait"`, ...)
    # @return [PollerThreadWaitError]
    def self.for(call)
      new(
        "#{call} was called from a listener on the poller thread (#{Thread.current.name}), and it " \
        "would wait for delivery reports that only this thread serves: every producer of this " \
        "poller would stall until the wait timed out, and the message would be delivered all the " \
        "same. In a listener, use produce_async or produce_many_async and wait for their handles " \
        "on another thread, or hand the work over to another thread."
      )
    end
  end
end
