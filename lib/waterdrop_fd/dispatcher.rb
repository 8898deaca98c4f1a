# frozen_string_literal: true

module WaterdropFd
  # Receives a producer's librdkafka events on the poller thread and turns them into
  # WaterDrop instrumentation. One per connected producer; called from Rust.
  # @api private
  class Dispatcher
    # librdkafka's "purged from the queue" (-152) and "purged while in flight" (-151).
    PURGE_CODES = [-152, -151].freeze
    # librdkafka's authentication (-169) and TLS (-181) errors; a transport error (-195) is
    # one when OpenSSL reported it (the broker's alert for a missing client certificate).
    SECURITY_CODES = [-169, -181].freeze
    TRANSPORT = -195
    private_constant :PURGE_CODES, :SECURITY_CODES, :TRANSPORT

    # @return [WaterdropFd::RdkafkaError, nil] the last authentication or TLS error since
    #   {#clear_security_error}: what a delivery that times out was kept from the broker by
    attr_reader :security_error

    # @param producer [WaterDrop::Producer]
    def initialize(producer)
      @producer = producer
      @producer_id = producer.id
      @monitor = producer.monitor
      @transactional = producer.transactional?
      @bearer = nil
    end

    # Ties the dispatcher to the native client it serves (before the client is registered
    # with a poller, so before any event can arrive).
    # @param native [WaterdropFd::Native::Producer]
    # @return [self]
    def bind(native)
      @bearer = OauthBearer.new(native)
      self
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
        # Purged messages of a transactional producer are the normal end of an aborted
        # transaction: reported, but not as an error.
        event = @transactional && PURGE_CODES.include?(code) ? "message.purged" : "error.occurred"
        @monitor.instrument(event, payload)
      end
    end

    # A message whose delivery report will never come: its client was destroyed with the
    # message still in flight (close gave up waiting), or it was inherited by a forked
    # child (the report goes to the parent). Reported like a failed delivery report
    # (`error.occurred`, type `librdkafka.dispatch_error`, with its label), the error saying
    # why. The handle was completed (with librdkafka's `_DESTROY`) before.
    # @param handle [WaterdropFd::DeliveryHandle]
    # @param reason [String]
    def undeliverable(handle, reason)
      code = handle.error_code
      error = RdkafkaError.new(code, "#{Native.err2str(code)}: #{reason}")
      report = DeliveryReport.new(handle.partition, handle.offset, handle.topic, code, handle.label)
      @monitor.instrument(
        "error.occurred",
        caller: self, producer_id: @producer_id, offset: report.offset, partition: report.partition,
        topic: report.topic_name, delivery_report: report, label: report.label, error: error,
        type: "librdkafka.dispatch_error"
      )
    end

    # A client-level error (librdkafka's error event).
    def error(code, reason, fatal)
      error = RdkafkaError.new(code, reason, fatal: fatal)
      if SECURITY_CODES.include?(code) || (code == TRANSPORT && reason.to_s.include?("SSL routines"))
        @security_error = error
      end
      @monitor.instrument("error.occurred", caller: self, producer_id: @producer_id, error: error, type: "librdkafka.error")
    end

    # Forgets {#security_error} (a delivery succeeded, so the cause is gone).
    def clear_security_error
      @security_error = nil
    end

    # A statistics JSON document: parsed, decorated with deltas (`config.statistics_decorator`)
    # and instrumented as `statistics.emitted`. Skipped when nobody listens (any more).
    def statistics(json)
      return unless @monitor.listening?("statistics.emitted")

      statistics = @producer.config.statistics_decorator.call(JSON.parse(json))
      @monitor.instrument("statistics.emitted", producer_id: @producer_id, statistics: statistics)
    end

    # librdkafka asks for an OAuth bearer token (SASL/OAUTHBEARER): `event[:bearer]` takes it.
    # A listener that raises is reported as `callbacks.oauthbearer_token_refresh.error` and
    # its message handed to librdkafka as the token failure, so librdkafka fails the
    # authentication with that reason (and asks again later) instead of waiting for a token.
    def oauthbearer_token_refresh(_config)
      @monitor.instrument("oauthbearer.token_refresh", bearer: @bearer, caller: self)
    rescue StandardError => e
      @bearer.oauthbearer_set_token_failure("token provider failed: #{e.class}: #{e.message}")
      raise
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
