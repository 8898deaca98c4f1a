# frozen_string_literal: true

module Rdkafka
  unless const_defined?(:BaseError, false)
    # Base of rdkafka-ruby's errors (defined by `waterdrop_fd/rdkafka_compat`).
    class BaseError < RuntimeError; end
  end
end
