# frozen_string_literal: true

module Rdkafka
  class AbstractHandle
    unless const_defined?(:WaitTimeoutError, false)
      # Raised when waiting on a handle times out (defined by `waterdrop_fd/rdkafka_compat`).
      # waterdrop_fd's {WaterdropFd::WaitTimeoutError} instances are of a subclass of it.
      class WaitTimeoutError < RuntimeError; end
    end
  end
end
