# frozen_string_literal: true

module WaterDrop
  module Contracts
    # `validate!` with karafka-core's contract signature, for contracts that answer
    # `errors(data)` (a Hash of problems keyed by field, empty when valid).
    module Validating
      NO_SCOPE = [].freeze
      private_constant :NO_SCOPE

      # @param data [Object] what to check
      # @param error_class [Class] the exception raised when `data` is invalid
      # @param scope [Array<String, Symbol>] prefixed to every problem's key
      #   (`scope: [:a, :b]` reports `:"a.b.topic"`)
      # @return [true]
      # @raise [Exception] `error_class`, with the inspected Hash of problems as message
      def validate!(data, error_class = Errors::MessageInvalidError, scope: NO_SCOPE)
        errs = errors(data)
        return true if errs.empty?

        unless scope.empty?
          prefix = scope.join(".")
          errs = errs.transform_keys { |key| :"#{prefix}.#{key}" }
        end
        raise error_class, errs.inspect
      end
    end
  end
end
