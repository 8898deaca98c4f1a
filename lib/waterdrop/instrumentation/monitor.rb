# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # A producer's monitor (`config.monitor`): subscribe listeners with {#subscribe}
    # (blocks, or objects answering `on_<event_name_with_underscores>`).
    #
    # Built with a notifications bus, as WaterDrop's monitor is, it also publishes every
    # event to that bus, named `<event>.<namespace>` when a namespace is given:
    #
    # @example ActiveSupport::Notifications as the bus
    #   monitor = WaterDrop::Instrumentation::Monitor.new(ActiveSupport::Notifications, "waterdrop")
    #   ActiveSupport::Notifications.subscribe("message.acknowledged.waterdrop") do |*, payload|
    #     puts payload[:offset]
    #   end
    #   producer = WaterDrop::Producer.new { |config| config.monitor = monitor; ... }
    #
    # A monitor with a bus other than a {Notifications} reports every event as listened to
    # (see {BusForwarding}), so producers using it always build every event.
    class Monitor < Notifications
      # @param notifications_bus [#instrument, nil] a bus every event is also published to
      # @param namespace [String, nil] appended to event names on the bus (`<event>.<namespace>`)
      # @raise [ArgumentError] for a namespace without a bus
      def initialize(notifications_bus = nil, namespace = nil)
        super(self.class::MONITORED_EVENTS)
        if notifications_bus.nil?
          raise ArgumentError, "a namespace (#{namespace.inspect}) is only used with a notifications bus" if namespace
        else
          extend(BusForwarding)
          forward_to(notifications_bus, namespace&.to_s)
        end
      end

      # The events a monitor of this class accepts.
      MONITORED_EVENTS = Notifications::EVENTS
    end
  end
end
