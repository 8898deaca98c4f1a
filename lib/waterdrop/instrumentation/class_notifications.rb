# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # The bus of the class-level monitor ({WaterDrop.monitor}).
    class ClassNotifications < Notifications
      # The class-level event names (WaterDrop 2.10's).
      EVENTS = %w[
        producer.created producer.configured
        connection_pool.created connection_pool.setup connection_pool.shutdown
        connection_pool.reload connection_pool.reloaded
      ].freeze

      # @param events [Array<String>] the event names this bus accepts
      def initialize(events = EVENTS)
        super
      end
    end
  end
end
