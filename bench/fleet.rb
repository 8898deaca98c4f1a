# frozen_string_literal: true

module Bench
  # Builds connected, warmed-up producers of one polling mode.
  class Fleet
    attr_reader :producers

    def initialize(mode, servers, kafka, topic, count)
      @topic = topic
      @producers = Array.new(count) do |i|
        WaterDrop::Producer.new do |config|
          config.id = "bench-#{mode}-#{i}"
          config.kafka = kafka.merge("bootstrap.servers": servers)
          config.polling.mode = mode
        end
      end
      # Warm-up: metadata and connections, one delivered message each.
      @producers.each { |p| p.produce_sync(topic: topic, payload: "warm") }
    end

    def first(count)
      @producers.first(count)
    end

    def close
      @producers.each(&:close)
    end
  end
end
