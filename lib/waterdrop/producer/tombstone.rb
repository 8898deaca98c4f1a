# frozen_string_literal: true

module WaterDrop
  class Producer
    # Tombstones: messages with a nil payload that delete a key from a compacted topic.
    #
    # Each message needs `topic:`, a non-empty String `key:` and the Integer `partition:`
    # (>= 0) the key lives in; any `payload:` given is replaced by nil. The message then
    # takes the normal produce path (middleware, validation, instrumentation).
    module Tombstone
      # Checks the tombstone-only rules.
      TOMBSTONE_CONTRACT = Contracts::Tombstone.new
      private_constant :TOMBSTONE_CONTRACT

      # Produces a tombstone and waits for its delivery report.
      # @param message [Hash] `topic:`, `key:`, `partition:` and optional `headers:`,
      #   `timestamp:`, `label:`
      # @return [WaterdropFd::DeliveryReport]
      # @raise [Errors::MessageInvalidError] when `key` or `partition` is missing or invalid
      # @raise [Errors::ProduceError] as {Sync#produce_sync}
      def tombstone_sync(message)
        produce_sync(tombstone_message(message))
      end

      # Produces a tombstone without waiting.
      # @param message [Hash] see {#tombstone_sync}
      # @return [WaterdropFd::DeliveryHandle]
      # @raise [Errors::MessageInvalidError] when `key` or `partition` is missing or invalid
      # @raise [Errors::ProduceError] as {Async#produce_async}
      def tombstone_async(message)
        produce_async(tombstone_message(message))
      end

      # Produces several tombstones and waits for all their reports. Nothing is sent when
      # any of them is invalid.
      # @param messages [Array<Hash>] see {#tombstone_sync}
      # @return [Array<WaterdropFd::DeliveryHandle>] completed handles
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceManyError]
      def tombstone_many_sync(messages)
        produce_many_sync(messages.map { |m| tombstone_message(m) })
      end

      # Produces several tombstones without waiting. Nothing is sent when any of them is
      # invalid.
      # @param messages [Array<Hash>] see {#tombstone_sync}
      # @return [Array<WaterdropFd::DeliveryHandle>]
      # @raise [Errors::MessageInvalidError]
      # @raise [Errors::ProduceManyError]
      def tombstone_many_async(messages)
        produce_many_async(messages.map { |m| tombstone_message(m) })
      end

      private

      # A copy of `message` with a nil payload, after the tombstone checks (the caller's
      # Hash is never changed).
      def tombstone_message(message)
        tombstone = message.is_a?(Hash) ? message.merge(payload: nil) : message
        TOMBSTONE_CONTRACT.validate!(tombstone)
        tombstone
      end
    end
  end
end
