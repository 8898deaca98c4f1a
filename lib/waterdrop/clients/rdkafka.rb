# frozen_string_literal: true

module WaterDrop
  # The clients a producer can be built with (`config.client_class`).
  module Clients
    # The real client: librdkafka, driven by this gem's native extension and served by a
    # poller. It is the default `client_class`; the producer builds it itself (this class is
    # only its name in the configuration and is never instantiated).
    class Rdkafka
      # @raise [NotImplementedError] always: the producer builds the native client itself
      def initialize(*)
        raise NotImplementedError, "WaterDrop::Clients::Rdkafka is built by WaterDrop::Producer, not directly"
      end
    end
  end
end
