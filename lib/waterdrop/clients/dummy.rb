# frozen_string_literal: true

module WaterDrop
  module Clients
    # A client that sends nothing: every message is "delivered" at once, with offsets that
    # count up per topic and partition. Used when `config.deliver` is false (typically in
    # tests and development), or set as `config.client_class`.
    class Dummy
      # A delivery handle that is complete from the start.
      class Handle
        # @return [String]
        attr_reader :topic
        # @return [Integer]
        attr_reader :partition
        # @return [Integer]
        attr_reader :offset
        # @return [Object, nil]
        attr_reader :label

        # @param topic [String]
        # @param partition [Integer]
        # @param offset [Integer]
        # @param label [Object, nil]
        def initialize(topic, partition, offset, label)
          @topic = topic
          @partition = partition
          @offset = offset
          @label = label
        end

        # @return [false] never pending
        def pending? = false

        # @return [Integer] always 0 (success)
        def error_code = 0

        # @return [nil]
        def delivery_error = nil

        # @return [WaterdropFd::DeliveryReport]
        def create_result
          WaterdropFd::DeliveryReport.new(@partition, @offset, @topic, nil, @label)
        end

        # Returns the report at once (the arguments are accepted for compatibility; the
        # deprecated `max_wait_timeout:` warns as a real handle's does).
        # @return [WaterdropFd::DeliveryReport]
        def wait(max_wait_timeout_ms: nil, raise_response_error: true, **deprecated) # rubocop:disable Lint/UnusedMethodArgument
          unknown = deprecated.keys - [:max_wait_timeout]
          raise ArgumentError, "unknown keyword#{"s" if unknown.size > 1}: #{unknown.map(&:inspect).join(", ")}" unless unknown.empty?

          warn(WaterdropFd::DeliveryHandle::SECONDS_DEPRECATED, uplevel: 1) if deprecated.key?(:max_wait_timeout)
          create_result
        end
      end

      # @param producer [WaterDrop::Producer, nil] the producer this client belongs to (nil
      #   for a client built by a test helper and handed out by a stubbed `producer.client`)
      def initialize(producer)
        @producer = producer
        @offsets = Hash.new(-1)
        @offsets_mutex = Mutex.new
      end

      # "Delivers" one message. The producer calls this for every message it dispatches
      # through a Ruby client, so a subclass may override it (and call `super`), as
      # karafka-testing's client does.
      # @param message [Hash] the validated message (after middleware)
      # @return [Handle]
      def produce(message)
        topic = message.fetch(:topic).to_s
        partition = message[:partition] || 0
        offset = @offsets_mutex.synchronize { @offsets[[topic, partition]] += 1 }
        Handle.new(topic, partition, offset, message[:label])
      end

      # Runs a transaction command: nothing to do for a client that sends nothing.
      # @param _command [String] init, begin, commit or abort
      # @param _timeout_ms [Integer]
      # @return [nil]
      def transaction(_command, _timeout_ms) = nil

      # @return [nil] offsets are not stored anywhere
      def send_offsets_to_transaction(*) = nil

      # @return [true] nothing is ever queued
      def flush(_timeout_ms = nil) = true

      # @return [nil]
      def purge = nil

      # @return [Integer] 0: nothing is ever in flight
      def destroy = 0

      # @return [nil]
      def abandon = nil

      # @return [Integer] always 0
      def queue_size = 0

      # @return [nil] a dummy client never fails
      def fatal_error = nil

      # @param _code [Integer]
      # @param _reason [String]
      # @return [Integer] 0, like librdkafka when it accepts the test error; nothing changes
      def test_fatal_error(_code, _reason) = 0

      # @param _topic [String]
      # @param _timeout_ms [Integer]
      # @return [Integer] 1: a dummy client has one partition per topic
      def partition_count(_topic, _timeout_ms) = 1

      # Delivery notifications are not used: handles are complete from the start.
      def notify_deliveries=(_value); end
    end
  end
end
