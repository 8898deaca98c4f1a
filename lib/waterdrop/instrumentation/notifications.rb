# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # The per-producer event names (WaterDrop 2.10).
    EVENTS = %w[
      producer.connected producer.closing producer.closed producer.disconnecting
      producer.disconnected producer.reload producer.reloaded
      message.produced_async message.produced_sync message.acknowledged message.purged
      message.buffered messages.produced_async messages.produced_sync messages.buffered
      buffer.flushed_async buffer.flushed_sync buffer.purged
      transaction.started transaction.committed transaction.aborted
      transaction.marked_as_consumed transaction.finished
      oauthbearer.token_refresh poller.producer_registered poller.producer_unregistered
      statistics.emitted error.occurred
    ].freeze

    # Class-level events (`WaterDrop.monitor`).
    CLASS_EVENTS = %w[
      producer.created producer.configured
      connection_pool.created connection_pool.setup connection_pool.shutdown
      connection_pool.reload connection_pool.reloaded
    ].freeze
  end
end
