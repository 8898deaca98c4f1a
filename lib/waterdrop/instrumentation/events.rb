# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # The per-producer event names ({Notifications::EVENTS}).
    EVENTS = Notifications::EVENTS
    # The class-level event names ({ClassNotifications::EVENTS}).
    CLASS_EVENTS = ClassNotifications::EVENTS
  end
end
