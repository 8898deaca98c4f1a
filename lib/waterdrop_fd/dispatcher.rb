# frozen_string_literal: true

module WaterdropFd
  # Receives a producer's librdkafka events on the poller thread and turns them into
  # WaterDrop instrumentation. One per connected producer; called from Rust.
  # @api private
  class Dispatcher
    # @param producer [WaterDrop::Producer]
    def initialize(producer)
      @producer = producer
      @producer_id = producer.id
      @monitor = producer.monitor
    end

    # A delivery report arrived for `handle` (called for errors always, for successes only
    # when somebody listens).
    # @param handle [WaterdropFd::DeliveryHandle]
    def delivered(handle)
      code = handle.error_code
      report = DeliveryReport.new(handle.partition, handle.offset, handle.topic, code, handle.label)
      payload = {
        caller: self, producer_id: @producer_id, offset: report.offset, partition: report.partition,
        topic: report.topic_name, delivery_report: report, label: report.label
      }
      if code.zero?
        @monitor.instrument("message.acknowledged", payload)
      else
        payload[:error] = RdkafkaError.new(code)
        payload[:type] = "librdkafka.dispatch_error"
        @monitor.instrument("error.occurred", payload)
      end
    end

    # A client-level error (librdkafka's error event).
    def error(code, reason, fatal)
      @monitor.instrument(
        "error.occurred",
        caller: self, producer_id: @producer_id, error: RdkafkaError.new(code, reason, fatal: fatal),
        type: "librdkafka.error"
      )
    end

    # A statistics JSON document.
    def statistics(json)
      return unless @monitor.listening?("statistics.emitted")

      @monitor.instrument("statistics.emitted", producer_id: @producer_id, statistics: JSON.parse(json))
    end

    # librdkafka asks for an OAuth bearer token.
    def oauthbearer_token_refresh(_config)
      @monitor.instrument("oauthbearer.token_refresh", bearer: @producer, caller: self)
    end

    # A librdkafka log line.
    def log(level, facility, message)
      logger = @producer.config.logger
      severity = level <= 3 ? Logger::ERROR : (level <= 4 ? Logger::WARN : (level <= 6 ? Logger::INFO : Logger::DEBUG))
      logger.add(severity, "rdkafka: [#{facility}] #{message}")
    end

    # A listener raised inside a callback: report it, never let it stop the poller.
    def callback_failed(kind, error)
      @monitor.instrument(
        "error.occurred", caller: self, producer_id: @producer_id, error: error, type: "callbacks.#{kind}.error"
      )
    rescue StandardError => e
      warn "waterdrop_fd: error.occurred listener failed while reporting a #{kind} callback error: #{e.class}: #{e.message}"
    end
  end
end
