# frozen_string_literal: true

module WaterDrop
  class Producer
    # Idempotent producers (`enable.idempotence: true`, and every transactional producer)
    # and their recovery from fatal errors.
    #
    # librdkafka puts an idempotent producer into a fatal state when it can no longer
    # guarantee ordering without duplicates (for example an out-of-order sequence number or
    # a lost producer epoch). From then on every produce fails. With
    # `reload_on_idempotent_fatal_error` (off by default), a non-transactional idempotent
    # producer recovers by itself: when a dispatch fails with a fatal error it reports
    # `error.occurred` (type `librdkafka.idempotent_fatal_error`, with `attempt:`), emits
    # `producer.reload` (its `caller:` is the producer: a listener may change
    # `event[:caller].config.kafka` before the new client is built), destroys the client
    # (after waiting up to `max_wait_timeout` for in-flight deliveries), emits
    # `producer.reloaded`, sleeps `wait_backoff_on_idempotent_fatal_error` ms and dispatches
    # the message again on a new client. At most `max_attempts_on_idempotent_fatal_error`
    # reloads happen in a row (a successful dispatch resets the count); error codes listed in
    # `non_reloadable_errors` are never reloaded.
    #
    # Messages handed to the old client before the fatal error are not dispatched again:
    # their handles report the outcome librdkafka gave them. Idempotence holds within one
    # client: a message dispatched again after a reload may duplicate one that the broker
    # had already written.
    module Idempotence
      # @return [Boolean] true when the producer is transactional or sets
      #   `enable.idempotence` (false before `setup`)
      def idempotent?
        return false if @config.nil?
        return true if transactional?

        [true, "true"].include?(@config.kafka[:"enable.idempotence"])
      end

      private

      # Runs one dispatch (see the module documentation for the reload on fatal errors).
      # A dispatch that raced with a reload and found its client destroyed is run again too.
      def with_idempotent_fatal_reload
        races = 0
        loop do
          client = @native
          begin
            result = yield
            @idempotent_fatal_error_attempts = 0 if @idempotent_fatal_error_attempts&.positive?
            return result
          rescue WaterdropFd::ClosedProducerError
            races += 1
            raise unless races <= @config.max_attempts_on_idempotent_fatal_error && replaced_by_reload?(client)
          rescue WaterdropFd::RdkafkaError => e
            raise unless reload_after_idempotent_fatal_error(e)
          end
        end
      end

      # @return [Boolean] whether `error` may be recovered from by rebuilding the client
      def idempotent_reloadable?(error)
        error.fatal? && idempotent? && !transactional? && @config.reload_on_idempotent_fatal_error
      end

      # Rebuilds the client after a fatal error of an idempotent producer, when allowed.
      # @return [Boolean] whether the dispatch should be tried again
      def reload_after_idempotent_fatal_error(error)
        return false unless idempotent_reloadable?(error)
        # The closing thread (final buffer flush) never reloads: it tears the client down.
        # Nor does a listener on the poller thread: the reload waits for that thread.
        return false if @operating_mutex.owned? || poller.in_poller_thread?

        retry_now = @operating_mutex.synchronize do
          native = @native
          # Another thread rebuilt the client already: just try again.
          next true unless native && native_fatal?(native)

          error = resolve_fatal_error(error, native)
          next false if @config.non_reloadable_errors.include?(error.code)

          attempt = (@idempotent_fatal_error_attempts || 0) + 1
          next false if attempt > @config.max_attempts_on_idempotent_fatal_error

          @idempotent_fatal_error_attempts = attempt
          @monitor.instrument(
            "error.occurred",
            producer_id: id, error: error, type: "librdkafka.idempotent_fatal_error", attempt: attempt
          )
          next false unless reload_client(native, error, attempt)

          :reloaded
        end
        sleep(@config.wait_backoff_on_idempotent_fatal_error / 1000.0) if retry_now == :reloaded
        retry_now ? true : false
      end

      # Whether a dispatch that found its client closed lost it to a reload (and may run
      # again on the new client), rather than to `close`.
      def replaced_by_reload?(client)
        return false unless @config.reload_on_idempotent_fatal_error && idempotent? && !transactional?
        return false if @operating_mutex.owned?

        # A reload in progress holds the lock: wait for it to finish.
        @operating_mutex.synchronize { nil }
        return false if @status.closing? || @status.closed?

        @native.nil? || !@native.equal?(client)
      end

      # Destroys the librdkafka client after a fatal error; the next use of the producer
      # builds a new one from `config.kafka`. The caller holds @operating_mutex.
      # @param native [WaterdropFd::Native::Producer] the client that failed
      # @param error [WaterdropFd::RdkafkaError] the fatal error
      # @param attempt [Integer] reloads in a row, this one included
      # @return [Boolean] false when `native` was no longer the producer's client
      def reload_client(native, error, attempt)
        return false unless @native.equal?(native)

        @monitor.instrument("producer.reload", producer_id: id, error: error, attempt: attempt, caller: self)
        @monitor.instrument("producer.reloaded", producer_id: id, attempt: attempt) do
          @connecting_mutex.synchronize do
            shutdown_client(false) if @native.equal?(native)
            @status.configured! if @status.connected?
          end
        end
        true
      end

      # @return [Boolean] whether librdkafka put `native` into a fatal state
      def native_fatal?(native)
        !native.fatal_error.nil?
      rescue WaterdropFd::Error
        false
      end

      # librdkafka reports a fatal state as `_FATAL` (-150) in some places; the error that
      # caused it is kept by the client. Returns the error with that underlying code (and
      # reason), or `error` itself.
      # @param error [WaterdropFd::RdkafkaError]
      # @param native [WaterdropFd::Native::Producer, nil]
      # @return [WaterdropFd::RdkafkaError]
      def resolve_fatal_error(error, native)
        return error unless error.rdkafka_response == -150 && native

        code, reason = native.fatal_error
        code ? WaterdropFd::RdkafkaError.new(code, reason, fatal: true) : error
      rescue WaterdropFd::Error
        error
      end
    end
  end
end
