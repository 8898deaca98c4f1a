# frozen_string_literal: true

module WaterDrop
  module Polling
    # Process-wide settings of the FD pollers (`WaterDrop::Polling.setup { |c| ... }`).
    class Config
      # Defaults, as in WaterDrop.
      DEFAULTS = { thread_priority: 0, poll_timeout: 1_000, backoff_min: 100, backoff_max: 30_000 }.freeze

      # @return [Integer] Ruby priority of poller threads (-3..3)
      attr_accessor :thread_priority
      # @return [Integer] ms the poller waits before serving every producer anyway
      attr_accessor :poll_timeout
      # @return [Integer] first back-off (ms) after an error in the polling loop
      attr_accessor :backoff_min
      # @return [Integer] largest back-off (ms)
      attr_accessor :backoff_max

      class << self
        # @return [Config] the current settings
        def config
          @config ||= new
        end

        # Changes the settings. Validated as a whole; nothing changes when invalid.
        # @yieldparam config [Config]
        # @raise [WaterDrop::Errors::ConfigurationInvalidError]
        # @return [Config]
        def setup
          candidate = config.dup
          yield candidate
          candidate.validate!
          @config = candidate
        end

        # Back to the defaults (tests).
        # @api private
        def reset!
          @config = new
        end
      end

      def initialize
        DEFAULTS.each { |k, v| public_send(:"#{k}=", v) }
      end

      # @raise [WaterDrop::Errors::ConfigurationInvalidError]
      def validate!
        errors = {}
        unless thread_priority.is_a?(Integer) && (-3..3).cover?(thread_priority)
          errors[:thread_priority] = "must be an integer between -3 and 3"
        end
        %i[poll_timeout backoff_min backoff_max].each do |key|
          value = public_send(key)
          errors[key] = "must be an integer greater or equal to 1" unless value.is_a?(Integer) && value >= 1
        end
        if errors.empty? && backoff_max < backoff_min
          errors[:backoff_max] = "must be greater or equal to backoff_min"
        end
        raise Errors::ConfigurationInvalidError, errors.inspect unless errors.empty?
      end
    end
  end
end
