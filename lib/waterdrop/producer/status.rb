# frozen_string_literal: true

module WaterDrop
  class Producer
    # A producer's lifecycle state.
    class Status
      # Every state, in lifecycle order.
      LIFECYCLE = %i[initial configured connected disconnecting disconnected closing closed].freeze
      # States in which the producer may be used.
      ACTIVE_STATES = %i[connected configured disconnecting disconnected].freeze

      # @param on_change [Proc, nil] called after every transition (the producer uses it to
      #   decide whether its produce fast path may be used)
      def initialize(&on_change)
        @current = :initial
        @on_change = on_change
      end

      LIFECYCLE.each do |state|
        define_method(:"#{state}?") { @current == state }
        define_method(:"#{state}!") do
          @current = state
          @on_change&.call
          state
        end
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
