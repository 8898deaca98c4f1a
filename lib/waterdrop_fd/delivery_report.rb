# frozen_string_literal: true

module WaterdropFd
  # The outcome of one produced message (`Rdkafka::Producer::DeliveryReport` shape).
  class DeliveryReport
    # @return [Integer] partition the message was written to (-1 if unknown)
    attr_reader :partition
    # @return [Integer] offset of the message (-1 if not delivered)
    attr_reader :offset
    # @return [String] topic name
    attr_reader :topic_name
    # @return [WaterdropFd::RdkafkaError, Integer, nil] nil on success (from {DeliveryHandle#wait});
    #   in delivery callbacks, the raw Integer code (0 on success), as rdkafka-ruby does
    attr_reader :error
    # @return [Object, nil] the label given at produce time (the same object)
    attr_reader :label

    alias topic topic_name

    # @param partition [Integer]
    # @param offset [Integer]
    # @param topic_name [String]
    # @param error [WaterdropFd::RdkafkaError, Integer, nil]
    # @param label [Object]
    def initialize(partition, offset, topic_name = nil, error = nil, label = nil)
      @partition = partition
      @offset = offset
      @topic_name = topic_name
      @error = error
      @label = label
    end
  end
end
