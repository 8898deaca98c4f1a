# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # Writes producer events to a Logger, in WaterDrop's format. Not subscribed by
    # default: `producer.monitor.subscribe(WaterDrop::Instrumentation::LoggerListener.new(logger))`.
    class LoggerListener
      # @param logger [Logger]
      # @param log_messages [Boolean] also log message contents (debug level)
      def initialize(logger, log_messages: true)
        @logger = logger
        @log_messages = log_messages
      end

      # @param event [Event]
      def on_message_produced_async(event) = message_line(event, "Async producing of a message to '#{event[:message][:topic]}' topic")

      # @param event [Event]
      def on_message_produced_sync(event) = message_line(event, "Sync producing of a message to '#{event[:message][:topic]}' topic")

      # @param event [Event]
      def on_messages_produced_async(event) = messages_line(event, "Async producing of #{event[:messages].size} messages")

      # @param event [Event]
      def on_messages_produced_sync(event) = messages_line(event, "Sync producing of #{event[:messages].size} messages")

      # @param event [Event]
      def on_message_buffered(event) = message_line(event, "Buffering of a message to '#{event[:message][:topic]}' topic")

      # @param event [Event]
      def on_messages_buffered(event) = messages_line(event, "Buffering of #{event[:messages].size} messages")

      # @param event [Event]
      def on_buffer_flushed_async(event) = messages_line(event, "Async flushing of #{event[:messages].size} messages from the buffer")

      # @param event [Event]
      def on_buffer_flushed_sync(event) = messages_line(event, "Sync flushing of #{event[:messages].size} messages from the buffer")

      # @param event [Event]
      def on_buffer_purged(event) = info(event, "Successfully purging buffer")

      # @param event [Event]
      def on_producer_closing(event) = info(event, "Closing producer")

      # @param event [Event]
      def on_producer_closed(event) = info(event, "Closing producer")

      # @param event [Event]
      def on_producer_disconnecting(event) = info(event, "Disconnecting producer")

      # @param event [Event]
      def on_producer_disconnected(event) = info(event, "Disconnected producer")

      # @param event [Event]
      def on_producer_reloaded(event) = info(event, "Producer successfully reloaded")

      # @param event [Event]
      def on_error_occurred(event)
        @logger.error("[#{event[:producer_id]}] Error occurred: #{event[:error]} - #{event[:type]}")
      end

      # @param event [Event]
      def on_transaction_started(event) = info(event, "Starting transaction")

      # @param event [Event]
      def on_transaction_aborted(event) = info(event, "Aborting transaction")

      # @param event [Event]
      def on_transaction_committed(event) = info(event, "Committing transaction")

      # @param event [Event]
      def on_transaction_marked_as_consumed(event)
        message = event[:message]
        info(event, "Marking message #{message.partition}/#{message.offset} as consumed in a transaction")
      end

      # @param event [Event]
      def on_transaction_finished(event) = info(event, "Processing transaction")

      private

      def info(event, text)
        time = event.payload[:time]
        line = +"[#{event[:producer_id]}] #{text}"
        line << " took #{time.round(2)} ms" if time
        @logger.info(line)
      end

      def message_line(event, text)
        info(event, text)
        @logger.debug("[#{event[:producer_id]}] #{event[:message]}") if @log_messages
      end

      def messages_line(event, text)
        info(event, text)
        @logger.debug("[#{event[:producer_id]}] #{event[:messages]}") if @log_messages
      end
    end
  end
end
