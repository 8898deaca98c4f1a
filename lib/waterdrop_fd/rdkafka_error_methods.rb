# frozen_string_literal: true

module WaterdropFd
  # The behaviour of {RdkafkaError}, in a module so that the subclass of
  # `Rdkafka::RdkafkaError` that {RdkafkaBridge} raises when rdkafka-ruby (or its compat
  # names) is loaded behaves the same: {#code} is librdkafka's error name as a Symbol
  # (`:queue_full`, `:msg_timed_out`, ...) and {#rdkafka_response} its number.
  module RdkafkaErrorMethods
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
      # Exception's own initialize: a bridged error's superclass (Rdkafka::RdkafkaError)
      # takes other arguments.
      Exception.instance_method(:initialize).bind_call(self, build_message)
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

    # @return [Boolean] whether librdkafka reported the end of a partition
    def is_partition_eof? = code == :partition_eof # rubocop:disable Naming/PredicateName

    # @return [String] the message (Exception's, whatever a bridged superclass defines)
    def to_s = Exception.instance_method(:to_s).bind_call(self)

    # @return [Boolean] equality by error code and message
    def ==(other)
      other.is_a?(RdkafkaError) && other.respond_to?(:rdkafka_response) &&
        other.rdkafka_response == rdkafka_response && other.message == message
    end

    private

    def build_message
      text = +"#{@description} (#{code})"
      text << "\n#{@broker_message}" if @broker_message
      text
    end
  end
end
