# frozen_string_literal: true

module WaterDrop
  class Producer
    # A producer's lifecycle state.
    class Status
      # Every state, in lifecycle order.
      LIFECYCLE = %i[initial configured connected disconnecting disconnected closing closed].freeze
      # States in which the producer may be used.
      ACTIVE_STATES = %i[connected configured disconnecting disconnected].freeze

      def initialize
        @current = :initial
      end

      LIFECYCLE.each do |state|
        define_method(:"#{state}?") { @current == state }
        define_method(:"#{state}!") { @current = state }
      end

      # @return [Boolean] whether the producer can be used
      def active? = ACTIVE_STATES.include?(@current)

      # @return [String]
      def to_s = @current.to_s

      # @return [Symbol]
      def to_sym = @current
    end
  end
end
