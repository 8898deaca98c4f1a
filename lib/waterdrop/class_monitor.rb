# frozen_string_literal: true

module WaterDrop
  # Guards the lazy creation of the class-level monitor.
  CLASS_MONITOR_MUTEX = Thread::Mutex.new
  private_constant :CLASS_MONITOR_MUTEX

  class << self
    # The class-level monitor: subscribe here to hear about every producer, without
    # holding a reference to any of them.
    #
    # @return [WaterDrop::Instrumentation::ClassMonitor]
    # @example
    #   WaterDrop.monitor.subscribe("producer.created") { |event| p event[:producer] }
    def monitor
      @monitor || CLASS_MONITOR_MUTEX.synchronize { @monitor ||= Instrumentation::ClassMonitor.new }
    end

    alias instrumentation monitor
  end
end
