# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # The event bus behind every monitor: blocks subscribed to one event, or objects that
    # answer `on_<event_name_with_underscores>`. Listener lists are copy-on-write, so
    # instrumenting never takes a lock. It knows who listens to what, which lets a producer
    # skip work (delivery notifications, the Ruby produce path) nobody would hear about.
    class Notifications
      # The per-producer event names (WaterDrop 2.10's).
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

      # Why `statistics.emitted` refuses listeners once the client started without statistics.
      STATISTICS_FROZEN_MESSAGE =
        "Cannot subscribe to `statistics.emitted` after the producer connected: statistics are " \
        "disabled because nobody listened to `statistics.emitted` when the librdkafka client was " \
        "built (or `statistics.interval.ms` is 0), so librdkafka emits none. Subscribe before " \
        "the first use of the producer."

      # @param events [Array<String>] the event names this bus accepts
      def initialize(events = EVENTS)
        @events = events
        @listeners = Hash.new { |h, k| h[k] = [].freeze }
        @mutex = Thread::Mutex.new
        @change_hooks = []
        @frozen_events = {}
      end

      # Subscribes a block to one event, or a listener object to every event it handles.
      # @param event_id_or_listener [String, Object]
      # @yieldparam event [Event]
      # @return [void]
      # @raise [WaterDrop::Errors::StatisticsNotEnabledError] for `statistics.emitted` after
      #   the client started without statistics
      def subscribe(event_id_or_listener = nil, &block)
        if block
          event = event_id_or_listener.to_s
          raise_unknown(event) unless @events.include?(event)
          raise_if_frozen([event])
          add(event, block)
        else
          listener = event_id_or_listener
          handled = @events.select { |event| listener.respond_to?(:"on_#{event.tr(".", "_")}") }
          # Nothing is subscribed when one of the events is closed to new listeners.
          raise_if_frozen(handled)
          handled.each { |event| add(event, listener) }
        end
        nil
      end

      # Removes a listener object or block from every event.
      # @param listener [Object, Proc]
      # @return [void]
      def unsubscribe(listener)
        @mutex.synchronize do
          @listeners.each_key { |event| @listeners[event] = (@listeners[event] - [listener]).freeze }
        end
        changed
        nil
      end

      # @return [Array<String>] the event names this bus accepts
      attr_reader :events

      # @return [Hash{String => Array}] listeners per event
      def listeners = @listeners

      # Removes every listener.
      def clear
        @mutex.synchronize { @listeners.clear }
        changed
      end

      # @param event_id [String]
      # @return [Boolean] whether anybody listens to `event_id`
      def listening?(event_id)
        list = @listeners.fetch(event_id, nil)
        !list.nil? && !list.empty?
      end

      # Publishes an event. With a block, runs it, and measures its time (ms) when anybody
      # listens. Returns the block's result.
      # @param event_id [String]
      # @param payload [Hash]
      def instrument(event_id, payload = {})
        list = @listeners.fetch(event_id, nil)
        if list.nil? || list.empty?
          raise_unknown(event_id) unless @events.include?(event_id)
          return block_given? ? yield : nil
        end

        if block_given?
          started = Process.clock_gettime(Process::CLOCK_MONOTONIC, :float_millisecond)
          result = yield
          payload = payload.merge(time: Process.clock_gettime(Process::CLOCK_MONOTONIC, :float_millisecond) - started)
        end
        event = Event.new(event_id, payload)
        list.each do |listener|
          if listener.is_a?(Proc)
            listener.call(event)
          else
            listener.public_send(:"on_#{event_id.tr(".", "_")}", event)
          end
        end
        result
      end

      # Registers a hook called whenever the listener set changes (used by producers to
      # tell the native layer whether delivery events are wanted).
      # @api private
      def on_change(&hook)
        @mutex.synchronize { @change_hooks = [*@change_hooks, hook] }
      end

      # Forbids later subscriptions to an event (statistics switched off at connect).
      # @api private
      def freeze_event!(event_id, error)
        @frozen_events[event_id] = error
      end

      # Closes `statistics.emitted` to new listeners: the producer's client was built with
      # statistics off (nobody listened, or `statistics.interval.ms` is 0), so they would
      # never hear anything. WaterDrop's name for it.
      # @return [void]
      def freeze_statistics_listeners!
        freeze_event!("statistics.emitted", Errors::StatisticsNotEnabledError.new(STATISTICS_FROZEN_MESSAGE))
        nil
      end

      # @param event_id [String]
      # @return [Boolean] whether `event_id` no longer accepts listeners
      def frozen_event?(event_id) = @frozen_events.key?(event_id)

      private

      def add(event, listener)
        @mutex.synchronize { @listeners[event] = [*@listeners[event], listener].freeze }
        changed
      end

      def raise_if_frozen(events)
        events.each do |event|
          error = @frozen_events[event]
          next unless error

          # A class gets a fresh instance; an instance is raised anew (fresh backtrace).
          raise error.is_a?(Class) ? error : error.exception(error.message)
        end
      end

      def changed
        @change_hooks.each(&:call)
      end

      def raise_unknown(event_id)
        raise ArgumentError, "#{event_id.inspect} is not a known event (known: #{@events.join(", ")})"
      end
    end
  end
end
