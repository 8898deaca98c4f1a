# frozen_string_literal: true

module WaterDrop
  # The error classes of the WaterDrop API (WaterDrop 2.10), with the same names and
  # hierarchy: every one is a {BaseError}.
  module Errors
    # Base class of every WaterDrop error.
    BaseError = Class.new(StandardError)
    # The producer configuration is invalid; the message is a Hash of key => reason.
    ConfigurationInvalidError = Class.new(BaseError)
    # A variant (`#with`) was given invalid settings.
    VariantInvalidError = Class.new(BaseError)
    # The producer was used before `setup`.
    ProducerNotConfiguredError = Class.new(BaseError)
    # `setup` was called twice.
    ProducerAlreadyConfiguredError = Class.new(BaseError)
    # Kept for API compatibility: waterdrop_fd reconnects after fork instead of raising it.
    ProducerUsedInParentProcess = Class.new(BaseError)
    # The producer is closed (or closing).
    ProducerClosedError = Class.new(BaseError)
    # `close` was called from inside a transaction.
    ProducerTransactionalCloseAttemptError = Class.new(BaseError)
    # A message failed validation; the message is a Hash of field => reason.
    MessageInvalidError = Class.new(BaseError)
    # `transaction_mark_as_consumed` got a bad consumer, message or metadata.
    TransactionalOffsetInvalidError = Class.new(BaseError)
    # `transaction` was called on a producer without `transactional.id`.
    ProducerNotTransactionalError = Class.new(BaseError)
    # The producer is in a state that does not allow the operation.
    StatusInvalidError = Class.new(BaseError)
    # Producing failed; the original error is in `#cause`.
    ProduceError = Class.new(BaseError)

    # Producing several messages failed; `#dispatched` holds the handles of the messages
    # that were handed to librdkafka before the failure.
    class ProduceManyError < ProduceError
      # @return [Array<WaterdropFd::DeliveryHandle>]
      attr_reader :dispatched

      # @param dispatched [Array<WaterdropFd::DeliveryHandle>]
      # @param message [String]
      def initialize(dispatched, message)
        super(message)
        @dispatched = dispatched
      end
    end

    # An operation needs to run inside a transaction.
    TransactionRequiredError = Class.new(BaseError)
    # Raise inside `transaction { }` to abort it without an error.
    AbortTransaction = Class.new(BaseError)
    # `return`, `break` or `throw` left a transaction block early.
    EarlyTransactionExitNotAllowedError = Class.new(BaseError)
    # A problem inside the FD poller.
    PollerError = Class.new(BaseError)
    # `statistics.emitted` was subscribed to after the client started without statistics.
    StatisticsNotEnabledError = Class.new(BaseError)
    # A transactional producer was used in a forked child without a new `transactional.id`.
    TransactionalProducerForkedError = Class.new(BaseError)
  end

  # Raise inside `transaction { }` to abort it quietly.
  AbortTransaction = Errors::AbortTransaction
end
