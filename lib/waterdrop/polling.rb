# frozen_string_literal: true

module WaterDrop
  # FD-based polling: one poller thread serves many producers.
  module Polling
    class << self
      # Configures every poller of the process.
      # @yieldparam config [WaterDrop::Polling::Config]
      # @example
      #   WaterDrop::Polling.setup { |c| c.poll_timeout = 500 }
      def setup(&block)
        Config.setup(&block)
      end
    end
  end
end
