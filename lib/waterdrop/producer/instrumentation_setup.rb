# frozen_string_literal: true

module WaterDrop
  class Producer
    # What a producer decides about instrumentation when it is configured and when it builds
    # its librdkafka client: class-level events, the idle disconnector, whether librdkafka
    # computes statistics, and SASL/OAUTHBEARER token refresh events.
    # @api private
    module InstrumentationSetup
      # The `sasl.mechanisms` value that makes librdkafka ask the application for tokens.
      OAUTHBEARER = "OAUTHBEARER"
      private_constant :OAUTHBEARER

      private

      # @return [WaterDrop::Instrumentation::ClassMonitor]
      def class_monitor = WaterDrop.monitor

      # Subscribes the idle disconnector when `idle_disconnect_timeout` is set. Runs in
      # `setup`, before the client exists, so it keeps statistics enabled.
      def subscribe_idle_disconnector
        timeout = @config.idle_disconnect_timeout
        return if timeout.zero?

        @monitor.subscribe(Instrumentation::IdleDisconnectorListener.new(self, disconnect_timeout: timeout))
      end

      # The librdkafka settings for a new client, as `[name, value]` String pairs. Also
      # subscribes `oauth.token_provider_listener` (once) and decides about statistics:
      # when nobody listens to `statistics.emitted` (or the interval is 0) librdkafka gets
      # `statistics.interval.ms=0` and the monitor refuses later statistics listeners.
      # @return [Array<Array(String, String)>]
      def native_settings
        subscribe_oauth_listener
        kafka = @config.kafka
        unless statistics_wanted?(kafka)
          kafka = kafka.merge("statistics.interval.ms": 0)
          @monitor.freeze_statistics_listeners! if @monitor.respond_to?(:freeze_statistics_listeners!)
        end
        kafka.map { |key, value| [key.to_s, value.to_s] }
      end

      def statistics_wanted?(kafka)
        interval = kafka[:"statistics.interval.ms"]
        interval.to_i.positive? && @monitor.listening?("statistics.emitted")
      end

      def subscribe_oauth_listener
        listener = @config.oauth.token_provider_listener
        return if !listener || @oauth_listener_subscribed

        @monitor.subscribe(listener)
        @oauth_listener_subscribed = true
      end

      # @return [Boolean] whether the client uses SASL/OAUTHBEARER, so that librdkafka must
      #   hand token refreshes to the application as `oauthbearer.token_refresh` events
      def oauthbearer?
        kafka = @config.kafka
        mechanism = kafka[:"sasl.mechanisms"] || kafka[:"sasl.mechanism"]
        mechanism.to_s.strip.upcase == OAUTHBEARER
      end
    end
  end
end
