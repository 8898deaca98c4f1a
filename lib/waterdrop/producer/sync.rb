# frozen_string_literal: true

module WaterDrop
  class Producer
    # Producing and waiting for the delivery reports.
    module Sync
      # Produces a message and waits for its delivery report.
      # @param message [Hash] `topic:`, `payload:` and optional `key:`, `partition:`,
      #   `partition_key:`, `timestamp:`, `headers:`, `label:`
      # @return [WaterdropFd::DeliveryReport]
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceError] with the librdkafka error (or wait timeout) as `#cause`;
      #   a timeout while authentication or the TLS handshake fails has that error as `#cause`;
      #   called from a listener on the poller thread, it raises at once, before anything is
      #   produced, with {WaterdropFd::PollerThreadWaitError} as `#cause`
      def produce_sync(message)
        message = middleware.run(message)
        validate_message!(message)
        ensure_not_on_own_poller!("produce_sync")
        @monitor.instrument("message.produced_sync", producer_id: id, message: message) do
          in_transaction_if_transactional do
            report = dispatch(message, "produce_sync").wait(
              max_wait_timeout_ms: current_variant.max_wait_timeout, raise_response_error: true
            )
            @dispatcher&.clear_security_error if @dispatcher&.security_error
            report
          end
        end
      rescue WaterdropFd::WaitTimeoutError => e
        # Timed out waiting: when wrong credentials or a failed TLS handshake kept the message
        # from the broker, that error is the cause worth reporting (a plain timeout otherwise).
        raise_produce_error(@dispatcher&.security_error || e, message, "message.produce_sync")
      rescue WaterdropFd::Error => e
        raise_produce_error(e, message, "message.produce_sync")
      end

      # Produces many messages and waits for all their reports. Nothing is sent when any
      # message is invalid.
      # @param messages [Array<Hash>]
      # @return [Array<WaterdropFd::DeliveryHandle>] completed handles
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceManyError] with `#dispatched`
      # @raise [WaterdropFd::PollerThreadWaitError] from a listener on the poller thread
      #   (nothing is produced)
      def produce_many_sync(messages)
        messages = middleware.run_many(messages)
        client = validate_batch!(messages)
        ensure_not_on_own_poller!("produce_many_sync")
        @monitor.instrument("messages.produced_sync", producer_id: id, messages: messages) do
          in_transaction_if_transactional do
            handles = dispatch_batch(client, messages, "produce_many_sync")
            timeout = current_variant.max_wait_timeout
            WaterdropFd::DeliveryHandle.wait_all(handles, max_wait_timeout_ms: timeout)
            handles
          end
        end
      end
    end
  end
end
