# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # Writes producer events to a Logger, with WaterDrop's lines. Not subscribed by default:
    # `producer.monitor.subscribe(WaterDrop::Instrumentation::LoggerListener.new(logger))`.
    #
    # Every line starts with `[producer_id]`. Operations are logged at info level, followed by
    # ` took <ms> ms` when the event measured its block; message contents follow at debug
    # level when `log_messages` is true; `error.occurred` is logged at error level as
    # `Error occurred: <error> - <type>`.
    class LoggerListener
      # @param logger [Logger] any object answering `info`, `debug` and `error`
      # @param log_messages [Boolean] also log message contents (payloads and metadata) at
      #   debug level; turn off where debug logging is on and payloads are large or private
      def initialize(logger, log_messages: true)
        @logger = logger
        @log_messages = log_messages
      end

      # @param event [Event] `message.produced_async`
      def on_message_produced_async(event)
        message = event[:message]
        info(event, "Message to '#{message[:topic]}' topic was delegated to a dispatch queue")
        debug(event, message)
      end

      # @param event [Event] `message.produced_sync`
      def on_message_produced_sync(event)
        message = event[:message]
        info(event, "Sync producing of a message to '#{message[:topic]}' topic")
        debug(event, message)
      end

      # @param event [Event] `messages.produced_async`
      def on_messages_produced_async(event)
        messages = event[:messages]
        info(event, "#{messages.size} messages to #{topic_count(messages)} topics were delegated to a dispatch queue")
        debug(event, messages)
      end

      # @param event [Event] `messages.produced_sync`
      def on_messages_produced_sync(event)
        messages = event[:messages]
        info(event, "Sync producing of #{messages.size} messages to #{topic_count(messages)} topics")
        debug(event, messages)
      end

      # @param event [Event] `message.buffered`
      def on_message_buffered(event)
        message = event[:message]
        info(event, "Buffering of a message to '#{message[:topic]}' topic")
        debug(event, [message])
      end

      # @param event [Event] `messages.buffered`
      def on_messages_buffered(event)
        messages = event[:messages]
        info(event, "Buffering of #{messages.size} messages")
        debug(event, [messages, messages.size])
      end

      # @param event [Event] `buffer.flushed_async`
      def on_buffer_flushed_async(event)
        messages = event[:messages]
        info(event, "Async flushing of #{messages.size} messages from the buffer")
        debug(event, messages)
      end

      # @param event [Event] `buffer.flushed_sync`
      def on_buffer_flushed_sync(event)
        messages = event[:messages]
        info(event, "Sync flushing of #{messages.size} messages from the buffer")
        debug(event, messages)
      end

      # @param event [Event] `buffer.purged`
      def on_buffer_purged(event) = info(event, "Successfully purging buffer")

      # @param event [Event] `producer.closing`
      def on_producer_closing(event) = info(event, "Closing producer")

      # `producer.closed` measures the whole close, so its line reads
      # "Closing producer took 12.3 ms".
      # @param event [Event] `producer.closed`
      def on_producer_closed(event) = info(event, "Closing producer")

      # @param event [Event] `producer.disconnecting`
      def on_producer_disconnecting(event) = info(event, "Disconnecting producer")

      # @param event [Event] `producer.disconnected`
      def on_producer_disconnected(event) = info(event, "Disconnected producer")

      # @param event [Event] `producer.reloaded`
      def on_producer_reloaded(event) = info(event, "Producer successfully reloaded")

      # @param event [Event] `error.occurred`
      def on_error_occurred(event)
        @logger.error("[#{event[:producer_id]}] Error occurred: #{event[:error]} - #{event[:type]}")
      end

      # @param event [Event] `transaction.started`
      def on_transaction_started(event) = info(event, "Starting transaction")

      # @param event [Event] `transaction.aborted`
      def on_transaction_aborted(event) = info(event, "Aborting transaction")

      # @param event [Event] `transaction.committed`
      def on_transaction_committed(event) = info(event, "Committing transaction")

      # @param event [Event] `transaction.marked_as_consumed` (its `message` answers `topic`,
      #   `partition` and `offset`, like a consumed Kafka message)
      def on_transaction_marked_as_consumed(event)
        message = event[:message]
        info(
          event,
          "Marking message with offset #{message.offset} on #{message.topic}-#{message.partition} " \
          "as consumed in a transaction"
        )
      end

      # @param event [Event] `transaction.finished`
      def on_transaction_finished(event) = info(event, "Processing transaction")

      private

      def info(event, text)
        payload = event.payload
        if payload.key?(:time)
          @logger.info("[#{event[:producer_id]}] #{text} took #{payload[:time].round(2)} ms")
        else
          @logger.info("[#{event[:producer_id]}] #{text}")
        end
      end

      def debug(event, details)
        return unless @log_messages

        @logger.debug("[#{event[:producer_id]}] #{details}")
      end

      def topic_count(messages) = messages.map { |message| message[:topic] }.uniq.size
    end
  end
end
