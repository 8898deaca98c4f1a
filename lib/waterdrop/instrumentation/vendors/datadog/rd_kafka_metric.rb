# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # Listeners for third-party monitoring services (required one by one).
    module Vendors
      # Datadog (DogStatsD) listeners.
      module Datadog
        # One librdkafka statistic the {MetricsListener} publishes.
        #
        # @!attribute type
        #   @return [Symbol] the client method: :count, :gauge, :histogram, :increment, :decrement
        # @!attribute scope
        #   @return [Symbol] where the value lives: :root (the statistics document), :brokers
        #     (each broker, tagged `broker:<nodename>`) or :topics (each topic, tagged `topic:<name>`)
        # @!attribute name
        #   @return [String] the metric name, under the listener's namespace
        # @!attribute key_location
        #   @return [String, Array<String>] the key (or key path) of the value in its scope;
        #     `*_d` keys are the deltas the producer's statistics decorator adds
        RdKafkaMetric = Struct.new(:type, :scope, :name, :key_location)
      end
    end
  end
end
