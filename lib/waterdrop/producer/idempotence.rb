# frozen_string_literal: true

module WaterDrop
  class Producer
    # Idempotence helpers.
    module Idempotence
      # @return [Boolean] true when transactional or `enable.idempotence` is set
      def idempotent?
        return true if transactional?

        [true, "true"].include?(config.kafka[:"enable.idempotence"])
      end
    end
  end
end
