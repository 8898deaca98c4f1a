# frozen_string_literal: true

module WaterDrop
  # A producer's settings (WaterDrop 2.10 names and defaults).
  class Config < ConfigNode
    # librdkafka settings WaterDrop applies unless the user sets them.
    KAFKA_DEFAULTS = {
      "client.id": "waterdrop",
      "statistics.interval.ms": 5_000,
      "message.timeout.ms": 150_000,
      "transaction.timeout.ms": 165_000,
      "socket.nagle.disable": true
    }.freeze

    setting :id, default: -> { "waterdrop-#{SecureRandom.hex(6)}" }
    setting :logger, default: -> { Logger.new($stdout, level: Logger::WARN) }
    setting :monitor, default: -> { Instrumentation::Monitor.new }
    setting :max_payload_size, default: 1_000_012
    setting :max_wait_timeout, default: 180_000
    setting :wait_on_queue_full, default: true
    setting :wait_backoff_on_queue_full, default: 100
    setting :wait_timeout_on_queue_full, default: 10_000
    setting :instrument_on_wait_queue_full, default: true
    setting :wait_backoff_on_transaction_command, default: 500
    setting :max_attempts_on_transaction_command, default: 5
    setting :reload_on_transaction_fatal_error, default: true
    setting :reload_on_idempotent_fatal_error, default: false
    setting :wait_backoff_on_idempotent_fatal_error, default: 5_000
    setting :max_attempts_on_idempotent_fatal_error, default: 5
    setting :wait_backoff_on_transaction_fatal_error, default: 1_000
    setting :max_attempts_on_transaction_fatal_error, default: 10
    setting :wait_timeout_on_transaction_abort, default: 0
    setting :non_reloadable_errors, default: -> { %i[fenced] }
    setting :idle_disconnect_timeout, default: 0
    # Decorates librdkafka statistics before `statistics.emitted` (one per producer: it keeps
    # the previous statistics to compute deltas).
    setting :statistics_decorator, default: lambda {
      Instrumentation::StatisticsDecorator.new(
        only_keys: %w[tx txretries txerrs rxerrs],
        excluded_keys: %w[int_latency outbuf_latency rtt throttle req toppars topics]
      )
    }
    setting :deliver, default: true
    setting :client_class, default: Clients::Rdkafka
    setting :kafka, default: -> { WaterdropFd::Redaction::Settings.new }
    setting :middleware, default: -> { Middleware.new }
    setting :oauth do
      setting :token_provider_listener, default: false
    end
    setting :polling do
      setting :mode, default: :fd
      setting :poller, default: nil
      setting :fd do
        setting :max_time, default: 100
        setting :periodic_poll_interval, default: 1_000
      end
    end

    # librdkafka settings. Kept as {WaterdropFd::Redaction::Settings}, so printing the
    # config never shows `sasl.password`, `ssl.key.password`, `ssl.key.pem` and other secrets.
    # @param value [Hash{Symbol => Object}]
    def kafka=(value)
      @values[:kafka] = value.is_a?(Hash) ? WaterdropFd::Redaction::Settings.from(value) : value
    end

    # Applies the user's block, validates, and fills in WaterDrop's kafka defaults.
    # @yieldparam config [Config]
    # @return [Config]
    # @raise [WaterDrop::Errors::ConfigurationInvalidError] naming each failing key
    def setup
      yield(self) if block_given?
      self.id = "waterdrop-#{SecureRandom.hex(6)}" if id.nil? || id == false
      Validator.new(self).validate!
      self.kafka = KAFKA_DEFAULTS.merge(kafka)
      self
    end

    # Checks a {Config}; every problem is reported at once, keyed by the setting's path.
    class Validator
      NUMERIC_MIN0 = %i[
        max_wait_timeout wait_backoff_on_queue_full wait_timeout_on_queue_full
        wait_backoff_on_transaction_command wait_backoff_on_idempotent_fatal_error
        wait_backoff_on_transaction_fatal_error wait_timeout_on_transaction_abort
      ].freeze
      INTEGER_MIN1 = %i[
        max_payload_size max_attempts_on_transaction_command max_attempts_on_idempotent_fatal_error
        max_attempts_on_transaction_fatal_error
      ].freeze
      BOOLEANS = %i[
        wait_on_queue_full instrument_on_wait_queue_full reload_on_transaction_fatal_error
        reload_on_idempotent_fatal_error deliver
      ].freeze
      private_constant :NUMERIC_MIN0, :INTEGER_MIN1, :BOOLEANS

      # @param config [Config]
      def initialize(config)
        @config = config
        @errors = {}
      end

      # @raise [WaterDrop::Errors::ConfigurationInvalidError]
      def validate!
        check_basics
        check_kafka
        check_polling
        raise Errors::ConfigurationInvalidError, @errors.inspect unless @errors.empty?
      end

      private

      def check_basics
        c = @config
        fail_on(:id, "must be a non-empty string") unless c.id.is_a?(String) && !c.id.empty?
        fail_on(:logger, "must be present") if c.logger.nil?
        fail_on(:monitor, "must be present") if c.monitor.nil?
        NUMERIC_MIN0.each do |k|
          v = c.public_send(k)
          fail_on(k, "must be a number greater or equal to 0") unless v.is_a?(Numeric) && v >= 0
        end
        INTEGER_MIN1.each do |k|
          v = c.public_send(k)
          fail_on(k, "must be an integer greater or equal to 1") unless v.is_a?(Integer) && v >= 1
        end
        BOOLEANS.each do |k|
          fail_on(k, "must be boolean") unless [true, false].include?(c.public_send(k))
        end
        unless c.non_reloadable_errors.is_a?(Array) && c.non_reloadable_errors.all?(Symbol)
          fail_on(:non_reloadable_errors, "must be an array of symbols")
        end
        idle = c.idle_disconnect_timeout
        unless idle.is_a?(Integer) && (idle.zero? || idle >= 30_000)
          fail_on(:idle_disconnect_timeout, "must be 0 (disabled) or an integer greater or equal to 30000")
        end
        fail_on(:statistics_decorator, "must respond to #call") unless c.statistics_decorator.respond_to?(:call)
        fail_on(:client_class, "must be a client class") if c.client_class.nil?
        listener = c.oauth.token_provider_listener
        unless listener == false || listener.respond_to?(:on_oauthbearer_token_refresh)
          fail_on(:"oauth.token_provider_listener", "must be false or respond to #on_oauthbearer_token_refresh")
        end
      end

      def check_kafka
        kafka = @config.kafka
        if !kafka.is_a?(Hash) || kafka.empty?
          fail_on(:kafka, "must be a non-empty hash")
        elsif !kafka.keys.all?(Symbol)
          fail_on(:kafka, "all keys need to be of type Symbol")
        end
      end

      def check_polling
        polling = @config.polling
        fail_on(:"polling.mode", "must be :fd or :thread") unless %i[fd thread].include?(polling.mode)
        poller = polling.poller
        if !poller.nil?
          if !poller.is_a?(Polling::Poller)
            fail_on(:"polling.poller", "must be nil or a WaterDrop::Polling::Poller")
          elsif polling.mode != :fd
            fail_on(:"polling.poller", "can only be set when polling.mode is :fd")
          end
        end
        max_time = polling.fd.max_time
        fail_on(:"polling.fd.max_time", "must be an integer greater or equal to 1") unless max_time.is_a?(Integer) && max_time >= 1
        interval = polling.fd.periodic_poll_interval
        unless interval.is_a?(Integer) && interval >= 100
          fail_on(:"polling.fd.periodic_poll_interval", "must be an integer greater or equal to 100")
        end
      end

      def fail_on(key, reason)
        @errors[key] = reason
      end
    end
  end
end
