# frozen_string_literal: true

module WaterDrop
  class Producer
    # Collecting messages in the producer's own buffer and sending them later in one go.
    #
    # Buffering does no validation and runs no middleware: both happen when the buffer is
    # flushed, exactly as for `produce_many_*`. The buffer is guarded by `@buffer_mutex`,
    # so several threads may buffer and flush at once; a flush takes the whole buffer and
    # leaves an empty one behind.
    module Buffer
      # Adds one message to the buffer.
      # @param message [Hash] a message as for {Sync#produce_sync} (checked at flush time)
      # @return [Array<Hash>] the buffer, with the message appended
      # @raise [Errors::ProducerNotConfiguredError] before `setup`
      # @raise [Errors::ProducerClosedError] when the producer is closing or closed
      def buffer(message)
        ensure_active!

        @monitor.instrument("message.buffered", producer_id: id, message: message, buffer: @messages) do
          @buffer_mutex.synchronize { @messages << message }
        end
      end

      # Adds several messages to the buffer, in order.
      # @param messages [Array<Hash>]
      # @return [Array<Hash>] the given messages
      # @raise [Errors::ProducerNotConfiguredError] before `setup`
      # @raise [Errors::ProducerClosedError] when the producer is closing or closed
      def buffer_many(messages)
        ensure_active!

        @monitor.instrument("messages.buffered", producer_id: id, messages: messages, buffer: @messages) do
          @buffer_mutex.synchronize { @messages.concat(messages) }
          messages
        end
      end

      # Sends everything buffered without waiting for the deliveries.
      # @return [Array<WaterdropFd::DeliveryHandle>] one pending handle per message; `[]`
      #   when the buffer was empty
      # @raise [Errors::MessageInvalidError] when a buffered message is invalid (nothing is
      #   sent and the whole buffer is kept)
      # @raise [Errors::ProduceManyError] when a dispatch failed (the messages that did not
      #   reach librdkafka are put back at the front of the buffer)
      def flush_async
        @monitor.instrument("buffer.flushed_async", producer_id: id, messages: @messages) do
          flush_buffer(false)
        end
      end

      # Sends everything buffered and waits for every delivery report.
      # @return [Array<WaterdropFd::DeliveryHandle>] completed handles (use `#create_result`
      #   for the reports); `[]` when the buffer was empty
      # @raise [Errors::MessageInvalidError] as {#flush_async}
      # @raise [Errors::ProduceManyError] as {#flush_async}
      def flush_sync
        @monitor.instrument("buffer.flushed_sync", producer_id: id, messages: @messages) do
          flush_buffer(true)
        end
      end

      private

      # Takes the whole buffer and produces it. On failure, the messages librdkafka never
      # got go back to the front of the buffer, before anything buffered meanwhile.
      # @param sync [Boolean] wait for the deliveries
      # @return [Array<WaterdropFd::DeliveryHandle>]
      def flush_buffer(sync)
        batch = @buffer_mutex.synchronize do
          taken = @messages
          @messages = []
          taken
        end
        return batch if batch.empty?

        sync ? produce_many_sync(batch) : produce_many_async(batch)
      rescue Errors::ProduceManyError => e
        # A transactional batch is rolled back as a whole; otherwise the first
        # `dispatched.size` messages are with librdkafka already.
        rebuffer(transactional? ? batch : batch.drop(e.dispatched.size))
        raise
      rescue Errors::MessageInvalidError
        # Every message is checked before the first is dispatched: nothing was sent.
        rebuffer(batch)
        raise
      end

      # @param unsent [Array<Hash>] messages to put back at the front of the buffer
      def rebuffer(unsent)
        return if unsent.empty?

        @buffer_mutex.synchronize { @messages.unshift(*unsent) }
      end
    end
  end
end
