# frozen_string_literal: true

require "json"

module Bench
  # Everything a run (or a child worker) needs to know.
  Settings = Struct.new(
    :servers, :topic, :partitions, :kafka, :bytes, :reps, :producers, :messages, :only, :out,
    :latency_messages, :idle_producers, :idle_seconds, :gvl_producers, :gvl_seconds, :quick,
    :rawbench, :worker, :json,
    keyword_init: true
  ) do
    # Producer settings used by this gem and by rawbench alike. Statistics are off (WaterDrop's
    # default is 5 s, which would wake each idle producer and skew the idle figures).
    def self.default_kafka
      { "statistics.interval.ms": 0 }
    end

    def self.from_json(text)
      data = JSON.parse(text, symbolize_names: true)
      data[:kafka] = data[:kafka].transform_keys(&:to_sym)
      data[:only] = data[:only].map(&:to_sym)
      new(**data)
    end

    def section?(name)
      only.include?(name)
    end
  end
end
