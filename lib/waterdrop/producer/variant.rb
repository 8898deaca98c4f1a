# frozen_string_literal: true

require "delegate"

module WaterDrop
  class Producer
    # A view of a producer with other `max_wait_timeout` and topic settings
    # (`producer.with(topic_config: { acks: 1 })`). Every call made through it uses its
    # settings, on the current fiber only; the producer itself is unchanged. A transaction
    # opened through it keeps it for the whole block, so `producer.produce_*` calls inside
    # `producer.with(...).transaction { }` use it too (as in WaterDrop).
    class Variant < SimpleDelegator
      # Topic settings a variant may change.
      ALLOWED_TOPIC_CONFIG = %i[
        acks compression.codec compression.level compression.type delivery.timeout.ms
        message.timeout.ms partitioner request.required.acks request.timeout.ms
      ].freeze

      # @return [Integer] ms to wait for delivery in sync calls
      attr_reader :max_wait_timeout
      # @return [Hash{Symbol => Object}] topic-level librdkafka settings
      attr_reader :topic_config
      # @return [Producer]
      attr_reader :producer

      # @param producer [Producer]
      # @param max_wait_timeout [Numeric]
      # @param topic_config [Hash]
      # @param default [Boolean] (internal) the producer's own settings
      def initialize(producer, max_wait_timeout: producer.config.max_wait_timeout, topic_config: {}, default: false)
        @producer = producer
        @max_wait_timeout = max_wait_timeout
        @topic_config = topic_config
        @default = default
        validate! unless default
        super(producer)
      end

      # @return [Boolean] whether this is the producer's own (default) variant
      def default? = @default

      # @api private
      # @return [Integer] the native topic configuration id (0: none)
      def topic_config_id(client)
        return 0 if @topic_config.empty?

        @topic_config_ids ||= {}.compare_by_identity
        @topic_config_ids[client] ||= client.register_topic_config(@topic_config.map { |k, v| [k.to_s, v.to_s] })
      end

      %i[
        produce_sync produce_async produce_many_sync produce_many_async
        tombstone_sync tombstone_async tombstone_many_sync tombstone_many_async
        buffer buffer_many flush_async flush_sync
        transaction transaction_mark_as_consumed
      ].each do |method|
        define_method(method) do |*args, **kwargs, &block|
          @producer.send(:with_variant, self) { @producer.public_send(method, *args, **kwargs, &block) }
        end
      end

      private

      def validate!
        errors = {}
        unless @max_wait_timeout.is_a?(Numeric) && @max_wait_timeout >= 0
          errors[:max_wait_timeout] = "must be a number greater or equal to 0"
        end
        if !@topic_config.is_a?(Hash)
          errors[:topic_config] = "must be a hash"
        elsif !@topic_config.keys.all?(Symbol)
          errors[:topic_config] = "all keys need to be of type Symbol"
        elsif !(unknown = @topic_config.keys - ALLOWED_TOPIC_CONFIG).empty?
          errors[:topic_config] = "contains settings a variant cannot change: #{unknown.join(", ")}"
        elsif (@producer.idempotent? || @producer.transactional?) && @topic_config.keys.any? { |k| k.to_s.include?("acks") }
          errors[:topic_config] = "acks cannot be changed for idempotent or transactional producers"
        end
        raise Errors::VariantInvalidError, errors.inspect unless errors.empty?
      end
    end
  end
end
