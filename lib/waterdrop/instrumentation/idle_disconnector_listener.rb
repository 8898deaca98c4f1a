# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # Disconnects a producer that has sent nothing for a while, so a rarely used producer
    # does not hold broker connections open. It watches `statistics.emitted`: when librdkafka's
    # `txmsgs` (messages sent since the client started) has not changed for
    # `disconnect_timeout` ms, it calls `producer.disconnect` on a background thread (the
    # statistics arrive on the poller thread, which must not wait for its own producer). The
    # producer reconnects on its next use.
    #
    # `config.idle_disconnect_timeout` (0: off, else >= 30 000 ms) subscribes one for you.
    # It needs statistics: with `statistics.interval.ms` 0 it never fires, and the timeout is
    # only checked when statistics arrive, so it acts up to one statistics interval late.
    #
    # @example
    #   producer.monitor.subscribe(
    #     WaterDrop::Instrumentation::IdleDisconnectorListener.new(producer, disconnect_timeout: 60_000)
    #   )
    class IdleDisconnectorListener
      # @return [Integer] ms without sending after which the producer is disconnected
      attr_reader :disconnect_timeout

      # @param producer [WaterDrop::Producer]
      # @param disconnect_timeout [Integer] ms without sending before disconnecting
      def initialize(producer, disconnect_timeout: 5 * 60 * 1_000)
        @producer = producer
        @disconnect_timeout = disconnect_timeout
        # No statistics seen yet: the first ones always count as activity.
        @last_txmsgs = nil
        @active_at = now_ms
      end

      # @param event [Event] `statistics.emitted`
      # @return [void]
      def on_statistics_emitted(event)
        # A monitor shared by several producers carries their statistics too.
        return unless event[:producer_id] == @producer.id

        check(event[:statistics])
      end

      private

      def check(statistics)
        txmsgs = statistics.fetch("txmsgs", 0)
        now = now_ms
        if txmsgs != @last_txmsgs
          @last_txmsgs = txmsgs
          @active_at = now
          return
        end
        return if now - @active_at < @disconnect_timeout

        disconnect_in_background
        # Whether it disconnects or finds the producer busy, wait a full timeout before the
        # next try: at most one thread per timeout.
        @active_at = now
      end

      # `disconnect` checks, under the producer's locks, that nothing (a buffer, a
      # transaction, an operation in progress) keeps the producer busy, and does nothing
      # otherwise. `disconnectable?` is not asked here: it says false on the poller thread.
      def disconnect_in_background
        producer = @producer
        Thread.new do
          producer.disconnect
        rescue StandardError => e
          producer.monitor.instrument(
            "error.occurred", producer_id: producer.id, error: e, type: "producer.disconnect.error"
          )
        end
      end

      def now_ms = Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond)
    end
  end
end
