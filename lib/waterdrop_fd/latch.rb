# frozen_string_literal: true

module WaterdropFd
  # A one-shot latch: {#wait} blocks until {#release!} was called (or a timeout passes).
  # Built on Mutex + ConditionVariable, so a wait inside a Fiber scheduler (Async) yields
  # the fiber instead of blocking the thread. The poller thread releases it.
  class Latch
    # Interrupts held off while releasing (one frozen Hash, not one per release).
    HOLD_INTERRUPTS = { Object => :never }.freeze
    private_constant :HOLD_INTERRUPTS

    def initialize
      @mutex = Thread::Mutex.new
      @cond = Thread::ConditionVariable.new
      @released = false
    end

    # Releases every waiter, now and later. Called on the poller thread: an interrupt sent
    # to that thread (`Thread#raise`, `Thread#kill`) is held until the release is done, so
    # it can never leave a waiter unreleased.
    # @return [true]
    def release!
      Thread.handle_interrupt(HOLD_INTERRUPTS) do
        @mutex.synchronize do
          @released = true
          @cond.broadcast
        end
      end
      true
    end

    # @return [Boolean] whether {#release!} was called
    def released? = @released

    # Waits until released.
    # @param timeout [Float, nil] seconds; nil waits without limit
    # @return [Boolean] true when released, false on timeout
    def wait(timeout = nil)
      deadline = timeout && (monotonic + timeout)
      @mutex.synchronize do
        until @released
          if deadline
            left = deadline - monotonic
            return false if left <= 0

            @cond.wait(@mutex, left)
          else
            @cond.wait(@mutex)
          end
        end
      end
      true
    end

    private

    def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

end
