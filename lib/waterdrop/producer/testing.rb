# frozen_string_literal: true

require "waterdrop_fd"

module WaterDrop
  class Producer
    # Fault injection for tests: puts a producer's librdkafka client into a fatal error
    # state, as a real fencing or sequence error would, to exercise the reload paths.
    #
    # Opt-in, as in WaterDrop: require this file (the same path as WaterDrop's, so suites
    # written for WaterDrop load it unchanged; `require "waterdrop_fd/producer/testing"`
    # works too) and include the module where needed.
    #
    # @example For every producer of a test suite
    #   require "waterdrop/producer/testing"
    #   WaterDrop::Producer.include(WaterDrop::Producer::Testing)
    #
    # @example For one producer
    #   producer.singleton_class.include(WaterDrop::Producer::Testing)
    #   producer.trigger_test_fatal_error(47, "fenced in a test")
    #   producer.fatal_error # => { error_code: 47, error_string: "test_fatal_error: fenced in a test" }
    module Testing
      # Makes librdkafka raise a fatal error on this producer's client
      # (`rd_kafka_test_fatal_error`), connecting it first if needed.
      # @param error_code [Integer] the Kafka error code of the fatal error (for example 47,
      #   INVALID_PRODUCER_EPOCH, or 64, INVALID_PRODUCER_ID_MAPPING)
      # @param reason [String] text recorded with the error
      # @return [Integer] librdkafka's result: 0 when the error was raised, -177 (_PREV_IN_PROGRESS)
      #   when the client was already in a fatal state
      def trigger_test_fatal_error(error_code, reason)
        native_client.test_fatal_error(Integer(error_code), String(reason))
      end

      # @return [Hash{Symbol => Object}, nil] `{ error_code: Integer, error_string: String }`
      #   for the fatal error the client is in, or nil
      def fatal_error
        code, reason = native_client.fatal_error
        code && { error_code: code, error_string: reason }
      end
    end
  end
end
