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
    # @return [String]
    def inspect
      "#<#{self.class.name} topic_name=#{topic_name.inspect} partition=#{partition.inspect} " \
        "offset=#{offset.inspect} error=#{error.inspect} label=#{label.inspect}>"
    end
  end
end
