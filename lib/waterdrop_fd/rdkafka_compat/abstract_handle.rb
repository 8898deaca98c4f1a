# frozen_string_literal: true

module Rdkafka
  unless const_defined?(:AbstractHandle, false)
    # rdkafka-ruby's base of operation handles (defined by `waterdrop_fd/rdkafka_compat`),
    # an `FFI::Struct` when ffi is installed, as in rdkafka-ruby. Only a namespace here.
    class AbstractHandle < (defined?(::FFI::Struct) ? ::FFI::Struct : Object); end
  end
end
