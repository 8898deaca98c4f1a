# frozen_string_literal: true

module WaterdropFd
  # Test helpers.
  module Testing
    # librdkafka's mock Kafka cluster, in this process, with fault injection. Any Kafka
    # client can connect to it through {#bootstrap_servers} (kcat too) while it is open.
    #
    # @example
    #   cluster = WaterdropFd::Testing::MockCluster.new(brokers: 3)
    #   cluster.create_topic("events", partitions: 4)
    #   cluster.bootstrap_servers # => "127.0.0.1:40123,127.0.0.1:40125,..."
    class MockCluster
      # @param brokers [Integer] number of mock brokers (1..64)
      # @return [MockCluster]
      def self.new(brokers: 3)
        raise ArgumentError, "brokers must be an Integer, got #{brokers.inspect}" unless brokers.is_a?(Integer)

        _new(brokers)
      end

      # Creates a topic.
      # @param name [String]
      # @param partitions [Integer]
      # @param replication_factor [Integer]
      # @return [self]
      # @raise [ArgumentError] for a partition count or replication factor below 1
      def create_topic(name, partitions:, replication_factor: 1)
        raise ArgumentError, "partitions must be an Integer >= 1, got #{partitions.inspect}" unless partitions.is_a?(Integer) && partitions >= 1
        unless replication_factor.is_a?(Integer) && replication_factor >= 1
          raise ArgumentError, "replication_factor must be an Integer >= 1, got #{replication_factor.inspect}"
        end

        _create_topic(String(name), Integer(partitions), Integer(replication_factor))
        self
      end

      # Takes a broker down (its connections are closed and refused).
      # @param broker_id [Integer] 1-based broker id
      # @return [self]
      def broker_down(broker_id)
        _broker_down(Integer(broker_id))
        self
      end

      # Brings a broker back up.
      # @param broker_id [Integer]
      # @return [self]
      def broker_up(broker_id)
        _broker_up(Integer(broker_id))
        self
      end

      # Sets a broker's round-trip time.
      # @param broker_id [Integer]
      # @param ms [Integer]
      # @return [self]
      def set_rtt(broker_id, ms)
        _set_rtt(Integer(broker_id), Integer(ms))
        self
      end

      # Makes the next requests with `api_key` fail with the given error codes, in order.
      # @param api_key [Integer] Kafka protocol API key (0 = Produce, 22 = InitProducerId, ...)
      # @param error_codes [Array<Integer>] Kafka error codes
      # @return [self]
      def push_request_errors(api_key, *error_codes)
        _push_request_errors(Integer(api_key), error_codes.flatten.map { |c| Integer(c) })
        self
      end

      # Forgets errors pushed for `api_key`.
      # @param api_key [Integer]
      # @return [self]
      def clear_request_errors(api_key)
        _clear_request_errors(Integer(api_key))
        self
      end

      # Moves a partition's leadership.
      # @return [self]
      def partition_set_leader(topic, partition, broker_id)
        _partition_set_leader(String(topic), Integer(partition), Integer(broker_id))
        self
      end

      # Makes every request about `topic` fail with `error_code` (0 clears it).
      # @return [self]
      def topic_set_error(topic, error_code)
        _topic_set_error(String(topic), Integer(error_code))
        self
      end
    end
  end
end
