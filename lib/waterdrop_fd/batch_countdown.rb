# frozen_string_literal: true

module WaterdropFd
  # The waiter {DeliveryHandle.wait_all} attaches to the pending handles of a batch (the
  # counting is native: `attach`, `remaining`, `latch`). This file adds waiting, for a handle
  # whose batch wait timed out and that is waited on again by itself.
  # @api private
  class BatchCountdown
    # Waits until the whole batch has its reports.
    # @param timeout [Float, nil] seconds; nil waits without limit
    # @return [Boolean] true when released, false on timeout
    def wait(timeout = nil) = latch.wait(timeout)
  end
end
