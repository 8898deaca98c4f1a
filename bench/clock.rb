# frozen_string_literal: true

module Bench
  # Monotonic and CPU clocks.
  module Clock
    module_function

    def now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def cpu
      Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
    end

    # CPU time of the calling thread only (what it spent holding the GVL and in native code).
    def thread_cpu
      Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
    end

    # @return [Float] seconds the block took
    def measure
      started = now
      yield
      now - started
    end
  end
end
