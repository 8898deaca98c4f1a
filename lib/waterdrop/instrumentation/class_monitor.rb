# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # The process-wide monitor behind {WaterDrop.monitor}. It accepts only the class-level
    # events ({ClassNotifications::EVENTS}): `producer.created`, `producer.configured` and
    # the connection pool lifecycle. Listeners run on the thread that creates or configures
    # the producer.
    #
    # @example Add a middleware step to every producer as it is configured
    #   WaterDrop.monitor.subscribe("producer.configured") do |event|
    #     event[:producer].middleware.append(->(message) { message })
    #   end
    class ClassMonitor < Monitor
      # The events a class monitor accepts.
      MONITORED_EVENTS = ClassNotifications::EVENTS
    end
  end
end
