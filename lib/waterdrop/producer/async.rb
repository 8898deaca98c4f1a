# frozen_string_literal: true

module WaterDrop
  class Producer
    # Producing without waiting.
    module Async
      # Produces a message without waiting for its delivery.
      # @param message [Hash] see {Sync#produce_sync}
      # @return [WaterdropFd::DeliveryHandle]
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceError]
      def produce_async(message)
        # (The variant check is {Producer#outside_variant_scope?}, inlined on this hot path.)
        if (client = @fast_native) && @client.nil? && (@variant_scopes.zero? || Thread.current[:waterdrop_fd_variants].nil?)
          begin
            handle = client.try_produce(message, @max_payload_size)
            return handle if handle
          rescue WaterdropFd::Error
            # Queue full, a fatal error, a closed or inherited client: the full path below
            # handles each (back-off, reload, reconnect, or the right error).
            nil
          end
        end
        message = middleware.run(message)
        validate_message!(message)
        if @monitor.listening?("message.produced_async")
          @monitor.instrument("message.produced_async", producer_id: id, message: message) do
            in_transaction_if_transactional { dispatch(message, "produce_async") }
          end
        else
          in_transaction_if_transactional { dispatch(message, "produce_async") }
        end
      rescue WaterdropFd::Error => e
        raise_produce_error(e, message, "message.produce_async")
      end

      # Produces many messages without waiting.
      # @param messages [Array<Hash>]
      # @return [Array<WaterdropFd::DeliveryHandle>]
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceManyError]
      def produce_many_async(messages)
        messages = middleware.run_many(messages)
        client = validate_batch!(messages)
        @monitor.instrument("messages.produced_async", producer_id: id, messages: messages) do
          in_transaction_if_transactional { dispatch_batch(client, messages, "produce_many_async") }
        end
      end
    end
  end
end
