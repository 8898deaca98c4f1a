# frozen_string_literal: true

require_relative "rd_kafka_metric"

module WaterDrop
  module Instrumentation
    module Vendors
      module Datadog
        # The {MetricsListener}'s settings (`listener.config`), with WaterDrop's names and
        # defaults.
        class Settings < ConfigNode
          # The librdkafka statistics published by default (WaterDrop's list).
          DEFAULT_RD_KAFKA_METRICS = [
            RdKafkaMetric.new(:count, :root, "calls", "tx_d"),
            RdKafkaMetric.new(:histogram, :root, "queue.size", "msg_cnt"),
            RdKafkaMetric.new(:count, :brokers, "deliver.attempts", "txretries_d"),
            RdKafkaMetric.new(:count, :brokers, "deliver.errors", "txerrs_d"),
            RdKafkaMetric.new(:count, :brokers, "receive.errors", "rxerrs_d"),
            RdKafkaMetric.new(:gauge, :brokers, "queue.latency.avg", %w[outbuf_latency avg]),
            RdKafkaMetric.new(:gauge, :brokers, "queue.latency.p95", %w[outbuf_latency p95]),
            RdKafkaMetric.new(:gauge, :brokers, "queue.latency.p99", %w[outbuf_latency p99]),
            RdKafkaMetric.new(:gauge, :brokers, "network.latency.avg", %w[rtt avg]),
            RdKafkaMetric.new(:gauge, :brokers, "network.latency.p95", %w[rtt p95]),
            RdKafkaMetric.new(:gauge, :brokers, "network.latency.p99", %w[rtt p99])
          ].freeze

          # @!method namespace
          #   @return [String] prefix of every metric name (`<namespace>.<name>`)
          setting :namespace, default: "waterdrop"
          # @!method client
          #   @return [#count, #gauge, #histogram, #increment, #decrement] a DogStatsD client
          #     (e.g. `Datadog::Statsd` of dogstatsd-ruby), or anything answering those
          setting :client
          # @!method default_tags
          #   @return [Array<String>] tags sent with every metric, e.g. `["host:web-1"]`
          setting :default_tags, default: -> { [] }
          # @!method rd_kafka_metrics
          #   @return [Array<RdKafkaMetric>] the librdkafka statistics to publish
          setting :rd_kafka_metrics, default: DEFAULT_RD_KAFKA_METRICS
        end
      end
    end
  end
end
