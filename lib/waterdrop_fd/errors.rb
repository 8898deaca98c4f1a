# frozen_string_literal: true

module WaterdropFd
  # Base class of the errors raised by the native layer.
  class Error < StandardError; end

  # An error reported by librdkafka. Mirrors `Rdkafka::RdkafkaError` of rdkafka-ruby:
  # {#code} is librdkafka's error name as a Symbol (`:queue_full`, `:msg_timed_out`, ...)
  # and {#rdkafka_response} its number.
  class RdkafkaError < Error
    # @return [Integer] librdkafka's numeric error code
    attr_reader :rdkafka_response
    # @return [String, nil] extra text from the broker or librdkafka, if any
    attr_reader :broker_message

    # @param rdkafka_response [Integer] librdkafka error code
    # @param message [String, nil] description (librdkafka's own text by default)
    # @param fatal [Boolean] whether the client is in a fatal state
    # @param retryable [Boolean] whether the operation may be retried
    # @param abortable [Boolean] whether the transaction must be aborted
    # @param broker_message [String, nil] extra detail
    def initialize(rdkafka_response, message = nil, fatal: false, retryable: false, abortable: false,
                   broker_message: nil)
      @rdkafka_response = Integer(rdkafka_response)
      @fatal = fatal || @rdkafka_response == -150
      @retryable = retryable
      @abortable = abortable
      @broker_message = broker_message
      @description = message || Native.err2str(@rdkafka_response)
      super(build_message)
    end

    # @return [Symbol] librdkafka's error name, lower-cased, without the leading underscore
    def code
      @code ||= Native.err2name(@rdkafka_response).downcase.delete_prefix("_").to_sym
    end

    # @return [Boolean]
    def fatal? = @fatal

    # @return [Boolean]
    def retryable? = @retryable

    # @return [Boolean]
    def abortable? = @abortable

    # @return [Boolean] equality by error code and message
    def ==(other)
      other.is_a?(self.class) && other.rdkafka_response == rdkafka_response && other.message == message
    end

    private

    def build_message
      text = +"#{@description} (#{code})"
      text << "\n#{@broker_message}" if @broker_message
      text
    end
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
