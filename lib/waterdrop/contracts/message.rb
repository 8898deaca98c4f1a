# frozen_string_literal: true

module WaterDrop
  # Validation of user input.
  module Contracts
    # Validates one message Hash with WaterDrop's rules and messages. Written as plain
    # checks (no DSL) because it runs once per produced message.
    class Message
      include Validating

      TOPIC_FORMAT = /\A(\w|-|\.)+\z/
      # The largest partition number librdkafka takes (int32).
      MAX_PARTITION = (2**31) - 1
      # Timestamps librdkafka takes (int64 milliseconds).
      TIMESTAMP_MS = (-(2**63)..((2**63) - 1))
      private_constant :TOPIC_FORMAT, :MAX_PARTITION, :TIMESTAMP_MS

      # @param max_payload_size [Integer]
      def initialize(max_payload_size:)
        @max_payload_size = max_payload_size
      end

      # @param message [Hash]
      # @return [Hash{Symbol => String}] problems keyed by field (empty when valid)
      def errors(message)
        return { message: "must be a hash" } unless message.is_a?(Hash)

        errors = nil
        topic = message[:topic]
        if !message.key?(:topic)
          (errors ||= {})[:topic] = "must be present"
        elsif !((topic.is_a?(String) || topic.is_a?(Symbol)) && topic.to_s.valid_encoding? && TOPIC_FORMAT.match?(topic))
          (errors ||= {})[:topic] = "does not match the topic allowed format"
        end

        if !message.key?(:payload)
          (errors ||= {})[:payload] = "must be present"
        else
          payload = message[:payload]
          if !payload.nil? && !payload.is_a?(String)
            (errors ||= {})[:payload] = "must be string or nil"
          elsif payload && payload.bytesize > @max_payload_size
            (errors ||= {})[:payload] = "is more than `max_payload_size` config value"
          end
        end

        # A message with only `topic` and `payload` has nothing optional to check.
        errors = check_optional(message, errors) unless message.size == 2 && message.key?(:topic) && message.key?(:payload)
        errors || EMPTY
      end

      EMPTY = {}.freeze
      private_constant :EMPTY

      private

      def check_optional(message, errors)
        if message.key?(:key)
          key = message[:key]
          (errors ||= {})[:key] = "must be a non-empty string" unless key.nil? || (key.is_a?(String) && !key.empty?)
        end
        if message.key?(:partition)
          partition = message[:partition]
          if !partition.is_a?(Integer) || partition < -1
            (errors ||= {})[:partition] = "must be an integer greater or equal to -1"
          elsif partition > MAX_PARTITION
            (errors ||= {})[:partition] = "must be at most #{MAX_PARTITION} (a Kafka partition number is 32-bit)"
          end
        end
        if message.key?(:partition_key)
          pk = message[:partition_key]
          (errors ||= {})[:partition_key] = "must be a non-empty string" unless pk.nil? || (pk.is_a?(String) && !pk.empty?)
        end
        if message.key?(:timestamp)
          ts = message[:timestamp]
          if !(ts.nil? || ts.is_a?(Time) || ts.is_a?(Integer))
            (errors ||= {})[:timestamp] = "must be either time or integer"
          elsif ts && !TIMESTAMP_MS.cover?(ts.is_a?(Time) ? (ts.to_r * 1000).to_i : ts)
            (errors ||= {})[:timestamp] = "must fit in 64 bits as milliseconds since the epoch"
          end
        end
        errors = check_headers(message[:headers], errors) if message.key?(:headers)
        errors
      end

      def check_headers(headers, errors)
        return errors if headers.nil?
        return (errors || {}).merge(headers: "must be a hash") unless headers.is_a?(Hash)

        unless headers.each_key.all?(String)
          (errors ||= {})[:headers] = "all headers keys need to be of type String"
          return errors
        end
        valid = headers.each_value.all? { |v| v.is_a?(String) || (v.is_a?(Array) && v.all?(String)) }
        (errors ||= {})[:headers] = "all headers values need to be strings or arrays of strings" unless valid
        errors
      end
    end
  end
end
