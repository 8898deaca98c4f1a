# frozen_string_literal: true

module WaterdropFd
  # The outcome of one produced message (`Rdkafka::Producer::DeliveryReport` shape). The
  # class is native (one is built for nearly every message); this file adds `inspect`.
  #
  # @!method initialize(partition, offset, topic_name = nil, error = nil, label = nil)
  #   @param partition [Integer]
  #   @param offset [Integer]
  #   @param topic_name [String, nil]
  #   @param error [WaterdropFd::RdkafkaError, Integer, nil]
  #   @param label [Object]
  # @!method partition
  #   @return [Integer] partition the message was written to (-1 if unknown)
  # @!method offset
  #   @return [Integer] offset of the message (-1 if not delivered)
  # @!method topic_name
  #   @return [String] topic name
  # @!method topic
  #   @return [String] topic name (same as {#topic_name})
  # @!method error
  #   @return [WaterdropFd::RdkafkaError, Integer, nil] nil on success (from
  #     {DeliveryHandle#wait}); in delivery callbacks, the raw Integer code (0 on success),
  #     as rdkafka-ruby does
  # @!method label
  #   @return [Object, nil] the label given at produce time (the same object)
  class DeliveryReport
    # The five fields, by name (what a plain Ruby report's instance variables held).
    # @return [Hash{Symbol => Object}]
    def to_h
      { partition: partition, offset: offset, topic_name: topic_name, error: error, label: label }
    end

    # Pattern matching: `in { partition:, offset: }`.
    # @param _keys [Array<Symbol>, nil]
    # @return [Hash{Symbol => Object}]
    def deconstruct_keys(_keys) = to_h

    # JSON form (ActiveSupport's `as_json`, `to_json`), the same as for a plain Ruby report.
    # @return [Hash{String => Object}]
    def as_json(*)
      to_h.transform_keys(&:to_s)
    end

    # @return [Array] what Marshal stores
    def marshal_dump = to_h.values

    # @param fields [Array] from {#marshal_dump}
    def marshal_load(fields)
      initialize(*fields)
    end

    # @return [String]
    def inspect
      "#<#{self.class.name} topic_name=#{topic_name.inspect} partition=#{partition.inspect} " \
        "offset=#{offset.inspect} error=#{error.inspect} label=#{label.inspect}>"
    end
  end
end
