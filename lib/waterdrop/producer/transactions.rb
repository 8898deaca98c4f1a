# frozen_string_literal: true

module WaterDrop
  class Producer
    # Transactions (placeholder until the transactions work lands: producers that are not
    # transactional dispatch directly).
    module Transactions
      # @return [Boolean] whether the producer has a `transactional.id`
      def transactional?
        config.kafka.key?(:"transactional.id")
      end

      # @return [Boolean] whether the current thread is inside a transaction
      def transaction?
        false
      end

      private

      # Wraps a dispatch in a transaction when the producer is transactional.
      def in_transaction_if_transactional
        yield
      end
    end
  end
end
