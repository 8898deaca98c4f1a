# frozen_string_literal: true

module WaterDrop
  module Contracts
    # The extra rules of tombstone messages (`tombstone_*`): a tombstone deletes one key of
    # a compacted topic, so it needs the key and the exact partition that key lives in.
    # Everything else is checked by {Message} on the normal produce path.
    class Tombstone
      include Validating

      # @param message [Hash]
      # @return [Hash{Symbol => String}] problems keyed by field (empty when valid)
      def errors(message)
        return { message: "must be a hash" } unless message.is_a?(Hash)

        errors = {}
        if !message.key?(:key)
          errors[:key] = "must be present"
        elsif !(message[:key].is_a?(String) && !message[:key].empty?)
          errors[:key] = "must be a non-empty string"
        end

        if !message.key?(:partition)
          errors[:partition] = "must be present"
        elsif !(message[:partition].is_a?(Integer) && message[:partition] >= 0)
          errors[:partition] = "must be an integer greater or equal to 0"
        end
        errors
      end
    end
  end
end
