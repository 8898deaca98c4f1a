# frozen_string_literal: true

module WaterDrop
  class Producer
    # Counts the dispatches running right now, so `close` and `disconnect` can wait until
    # none is left before they tear the client down. Waiting sleeps on a condition
    # variable (no polling loop).
    # @api private
    class OperationsCounter
      # Starts at zero.
      def initialize
        @value = 0
        @mutex = Thread::Mutex.new
        @drained = Thread::ConditionVariable.new
      end

      # @return [Integer] operations in progress
      attr_reader :value

      # Counts one more operation.
      # @return [Integer]
      def increment
        @mutex.synchronize { @value += 1 }
      end

      # Counts one operation less, waking the waiters when none is left.
      # @return [Integer]
      def decrement
        @mutex.synchronize do
          @value -= 1
          @drained.broadcast if @value.zero?
          @value
        end
      end

      # Blocks until no operation is in progress.
      # @return [void]
      def wait_until_zero
        @mutex.synchronize { @drained.wait(@mutex) until @value.zero? }
        nil
      end
    end
  end
end
