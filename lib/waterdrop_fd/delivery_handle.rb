# frozen_string_literal: true

module WaterdropFd
  # A handle on one produced message (`Rdkafka::Producer::DeliveryHandle` shape). The
  # native part (state, topic, label) is defined in Rust; this file adds waiting.
  class DeliveryHandle
    # Default wait limit, as in rdkafka-ruby.
    DEFAULT_WAIT_TIMEOUT_MS = 60_000

    # Stands for "not given" in {#wait}'s keyword arguments.
    NOT_GIVEN = Object.new.freeze
    private_constant :NOT_GIVEN

    # What {#wait} warns when given rdkafka-ruby's deprecated `max_wait_timeout:` (seconds).
    SECONDS_DEPRECATED = "DeliveryHandle#wait(max_wait_timeout:) takes seconds and is deprecated " \
                         "(as in rdkafka-ruby): use max_wait_timeout_ms: (milliseconds)"

    # Waits for the delivery report. Waits of several threads on one handle, and a
    # {.wait_all} that includes it, each end with the handle's own report.
    #
    # @param max_wait_timeout_ms [Integer, nil] how long to wait (default 60 000); nil waits
    #   without limit
    # @param raise_response_error [Boolean] raise when the report carries an error
    # @param max_wait_timeout [Numeric, nil] deprecated: the limit in seconds (warns)
    # @return [WaterdropFd::DeliveryReport]
    # @raise [WaterdropFd::WaitTimeoutError] when the report did not arrive in time (the
    #   handle can be waited on again)
    # @raise [WaterdropFd::PollerThreadWaitError] when called from a listener on the poller
    #   thread that would have to serve the report (it could never arrive during the wait),
    #   unless `max_wait_timeout_ms` is 0 (a look that does not wait)
    # @raise [WaterdropFd::RdkafkaError] when delivery failed and `raise_response_error`
    # @raise [ArgumentError] when both limits are given
    def wait(max_wait_timeout_ms: NOT_GIVEN, raise_response_error: true, max_wait_timeout: NOT_GIVEN)
      # Delivered without error (nearly every wait): one native call builds the report. (The
      # deprecated limit in seconds is checked, and warned about, even then.)
      if NOT_GIVEN.equal?(max_wait_timeout) && (report = _delivered_report)
        return report
      end

      max_wait_timeout_ms = DeliveryHandle.wait_limit_ms(max_wait_timeout_ms, max_wait_timeout)
      wait_for_report(max_wait_timeout_ms) if pending?
      raise delivery_error if raise_response_error && error_code != 0

      create_result
    end

    # The wait limit in ms from {#wait}'s arguments.
    # @param milliseconds [Integer, nil, Object] `max_wait_timeout_ms:` or NOT_GIVEN
    # @param seconds [Numeric, nil, Object] `max_wait_timeout:` or NOT_GIVEN
    # @return [Integer, nil]
    # @api private
    def self.wait_limit_ms(milliseconds, seconds)
      return NOT_GIVEN.equal?(milliseconds) ? DEFAULT_WAIT_TIMEOUT_MS : milliseconds if NOT_GIVEN.equal?(seconds)
      raise ArgumentError, "give max_wait_timeout_ms: or the deprecated max_wait_timeout:, not both" unless NOT_GIVEN.equal?(milliseconds)

      warn(SECONDS_DEPRECATED, uplevel: 2)
      seconds && (seconds * 1000).round
    end

    # Waits until every handle has its report (or the time is up), on one latch for the
    # whole batch: the poller counts the batch down natively as reports arrive and releases
    # the latch once, with the last one.
    #
    # @param handles [Array<DeliveryHandle>] (handles of a Ruby client, which answer `wait`,
    #   are waited on one by one)
    # @param max_wait_timeout_ms [Integer, nil] for the whole batch; nil waits without limit
    # @return [Array<DeliveryHandle>] the handles
    # @raise [WaterdropFd::WaitTimeoutError] when some report did not arrive in time (each
    #   handle can be waited on again, for its own report)
    # @raise [WaterdropFd::PollerThreadWaitError] when called from a listener on the poller
    #   thread that would have to serve one of the pending reports
    def self.wait_all(handles, max_wait_timeout_ms: DEFAULT_WAIT_TIMEOUT_MS)
      if max_wait_timeout_ms != 0 && BatchCountdown.served_here?(handles)
        raise PollerThreadWaitError.for("DeliveryHandle.wait_all")
      end

      deadline = max_wait_timeout_ms && (Process.clock_gettime(Process::CLOCK_MONOTONIC) + max_wait_timeout_ms / 1000.0)
      latch = Latch.new
      countdown = BatchCountdown.new(latch)
      # A Ruby client's handles: waited on one by one below.
      foreign = countdown.attach(handles)
      if countdown.remaining.positive?
        begin
          released = latch.wait(max_wait_timeout_ms && (max_wait_timeout_ms / 1000.0))
        ensure
          # Given up (or interrupted): a later wait on one of these handles must not wait for
          # the rest of this batch. When it was attached to none any more, every report
          # arrived as the time ran out: that is no timeout.
          released = countdown.detach(handles).zero? unless released
        end
        raise WaitTimeoutError, "Waiting for delivery timed out after #{max_wait_timeout_ms} ms" unless released
      end

      foreign.each do |h|
        left = deadline && ((deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)) * 1000).ceil
        h.wait(max_wait_timeout_ms: left && [left, 0].max, raise_response_error: false)
      end
      handles
    end

    # @return [WaterdropFd::DeliveryReport] the report (error as RdkafkaError or nil)
    def create_result
      _delivered_report || DeliveryReport.new(partition, offset, topic, error_code.zero? ? nil : delivery_error, label)
    end

    # @return [WaterdropFd::RdkafkaError, nil] the delivery error, if delivery failed
    def delivery_error
      code = error_code
      code.zero? ? nil : RdkafkaError.new(code)
    end

    # @return [String]
    def inspect
      state = pending? ? "pending" : "partition=#{partition} offset=#{offset} error_code=#{error_code}"
      "#<#{self.class.name} topic=#{topic.inspect} #{state}>"
    end

    private

    # Waits on a latch of this call's own, taken off again when the wait gives up.
    def wait_for_report(max_wait_timeout_ms)
      # A wait of 0 ms only looks, and may be made anywhere.
      raise PollerThreadWaitError.for("DeliveryHandle#wait") if max_wait_timeout_ms != 0 && _served_here?

      latch = Latch.new
      return unless _attach(latch) # the report arrived meanwhile

      begin
        released = latch.wait(max_wait_timeout_ms && (max_wait_timeout_ms / 1000.0))
      ensure
        _detach(latch) unless released
      end
      return if released || !pending?

      raise WaitTimeoutError, "Waiting for delivery timed out after #{max_wait_timeout_ms} ms"
    end
  end
end
