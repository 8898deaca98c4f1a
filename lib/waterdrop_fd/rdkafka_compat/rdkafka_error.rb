# frozen_string_literal: true

module Rdkafka
  unless const_defined?(:RdkafkaError, false)
    # rdkafka-ruby's librdkafka error (defined by `waterdrop_fd/rdkafka_compat`). The errors
    # waterdrop_fd raises are instances of a subclass of it; it can also be built by hand,
    # with rdkafka-ruby's arguments.
    class RdkafkaError < BaseError
      # @return [Integer] librdkafka's error code
      attr_reader :rdkafka_response
      # @return [String, nil] text put before librdkafka's description
      attr_reader :message_prefix
      # @return [String, nil] extra detail from the broker
      attr_reader :broker_message

      # @param response [Integer] librdkafka's error code
      # @param message_prefix [String, nil]
      # @param broker_message [String, nil]
      def initialize(response, message_prefix = nil, broker_message: nil)
        raise TypeError, "Response has to be an integer" unless response.is_a?(Integer)

        @rdkafka_response = response
        @message_prefix = message_prefix
        @broker_message = broker_message
        super(compose_message)
      end

      # @return [Symbol] librdkafka's error name, lower-cased, without the leading underscore
      def code
        WaterdropFd::Native.err2name(@rdkafka_response).downcase.delete_prefix("_").to_sym
      end

      # @return [Boolean]
      def is_partition_eof? = code == :partition_eof # rubocop:disable Naming/PredicateName

      # @return [Boolean]
      def fatal? = @rdkafka_response == -150

      # @return [Boolean] same class, code and message
      def ==(other)
        other.instance_of?(self.class) && other.rdkafka_response == rdkafka_response && other.to_s == to_s
      end

      private

      def compose_message
        text = "#{WaterdropFd::Native.err2str(@rdkafka_response)} (#{code})"
        @message_prefix ? "#{@message_prefix} - #{text}" : text
      end
    end
  end
end
