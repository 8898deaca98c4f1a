# frozen_string_literal: true

require_relative "settings"

module WaterDrop
  module Instrumentation
    module Vendors
      module Datadog
        # Publishes producer metrics to Datadog through a DogStatsD client, with WaterDrop's
        # metric names, tags and settings. Subscribe it to a producer's monitor; librdkafka
        # statistics need `statistics.interval.ms` > 0 and the listener subscribed before
        # the producer connects.
        #
        # Metrics (each under `namespace`, with `default_tags`): `produced_sync`,
        # `produced_async`, `flushed_sync`, `flushed_async` (+1 per message, tagged
        # `topic:<name>`), `acknowledged` (+1), `error_occurred` (+1), `buffer.size`
        # (histogram), and the `rd_kafka_metrics` read from each `statistics.emitted`.
        #
        # @example
        #   require "waterdrop/instrumentation/vendors/datadog/metrics_listener"
        #   listener = WaterDrop::Instrumentation::Vendors::Datadog::MetricsListener.new do |config|
        #     config.client = Datadog::Statsd.new("localhost", 8125)
        #     config.default_tags = ["host:#{Socket.gethostname}"]
        #   end
        #   producer.monitor.subscribe(listener)
        class MetricsListener
          # @return [Settings]
          attr_reader :config

          # @yieldparam config [Settings]
          def initialize(&block)
            @config = Settings.new
            setup(&block) if block
          end

          # Changes the settings.
          # @yieldparam config [Settings]
          # @return [self]
          def setup
            yield(@config)
            self
          end

          # @return [Object] the DogStatsD client
          def client = @config.client

          # @return [String]
          def namespace = @config.namespace

          # @return [Array<String>]
          def default_tags = @config.default_tags

          # @return [Array<RdKafkaMetric>]
          def rd_kafka_metrics = @config.rd_kafka_metrics

          # @param event [Event] `statistics.emitted`
          # @return [void]
          def on_statistics_emitted(event)
            statistics = event[:statistics]
            rd_kafka_metrics.each { |metric| publish_statistic(metric, statistics) }
          end

          # @param _event [Event]
          # @return [void]
          def on_error_occurred(_event)
            send_metric(:count, "error_occurred", 1, default_tags)
          end

          # @param _event [Event]
          # @return [void]
          def on_message_acknowledged(_event)
            send_metric(:increment, "acknowledged", 1, default_tags)
          end

          # @param event [Event]
          # @return [void]
          def on_message_produced_sync(event) = per_topic("produced_sync", [event[:message]])

          # @param event [Event]
          # @return [void]
          def on_message_produced_async(event) = per_topic("produced_async", [event[:message]])

          # @param event [Event]
          # @return [void]
          def on_messages_produced_sync(event) = per_topic("produced_sync", event[:messages])

          # @param event [Event]
          # @return [void]
          def on_messages_produced_async(event) = per_topic("produced_async", event[:messages])

          # @param event [Event]
          # @return [void]
          def on_buffer_flushed_sync(event) = per_topic("flushed_sync", event[:messages])

          # @param event [Event]
          # @return [void]
          def on_buffer_flushed_async(event) = per_topic("flushed_async", event[:messages])

          # @param event [Event]
          # @return [void]
          def on_message_buffered(event) = buffer_size(event)

          # @param event [Event]
          # @return [void]
          def on_messages_buffered(event) = buffer_size(event)

          private

          def buffer_size(event)
            send_metric(:histogram, "buffer.size", event[:buffer].size, default_tags)
          end

          def per_topic(name, messages)
            messages.each { |message| send_metric(:increment, name, 1, default_tags + ["topic:#{message[:topic]}"]) }
          end

          # @param type [Symbol] the client method
          # @param value [Numeric, nil] ignored for increment/decrement, which count by one
          #   (DogStatsD clients take no positional value there)
          def send_metric(type, name, value, tags)
            metric = "#{namespace}.#{name}"
            if type == :increment || type == :decrement
              client.public_send(type, metric, tags: tags)
            else
              client.public_send(type, metric, value, tags: tags)
            end
          end

          def publish_statistic(metric, statistics)
            path = Array(metric.key_location)
            case metric.scope
            when :root
              send_metric(metric.type, metric.name, statistics.dig(*path), default_tags)
            when :brokers
              statistics.fetch("brokers").each_value do |broker|
                # Bootstrap entries (nodeid -1) are not brokers of the cluster.
                next if broker["nodeid"] == -1

                send_metric(metric.type, metric.name, broker.dig(*path), default_tags + ["broker:#{broker["nodename"]}"])
              end
            when :topics
              statistics.fetch("topics").each_value do |topic|
                send_metric(metric.type, metric.name, topic.dig(*path), default_tags + ["topic:#{topic["topic"]}"])
              end
            else
              raise ArgumentError, "unknown RdKafkaMetric scope #{metric.scope.inspect} (known: :root, :brokers, :topics)"
            end
          end
        end
      end
    end
  end
end
