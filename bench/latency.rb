# frozen_string_literal: true

module Bench
  # produce_sync round trips, one producer, sequential; p50/p99 per repetition.
  class Latency
    COLUMNS = %i[fd thread raw].freeze

    # @return [Hash{Symbol => Hash{Symbol => Array<Float>}}] column => :p50/:p99 => µs per rep
    attr_reader :results

    def initialize(settings, raw, progress)
      @s = settings
      @raw = raw
      @progress = progress
      @results = COLUMNS.to_h { |c| [c, { p50: [], p99: [] }] }
    end

    def run
      @progress.section("latency", @s.reps * COLUMNS.size)
      @s.reps.times do |rep|
        COLUMNS.each do |column|
          @progress.step("rep #{rep + 1} #{column} #{@s.latency_messages} x produce_sync")
          record(column, column == :raw ? raw_sample : gem_sample(column))
        end
      end
      self
    end

    private

    def record(column, sample)
      @results[column][:p50] << sample.fetch(:p50)
      @results[column][:p99] << sample.fetch(:p99)
    end

    def raw_sample
      line = @raw.latency(@s.latency_messages, @s.bytes)
      { p50: line.fetch("p50_us"), p99: line.fetch("p99_us") }
    end

    def gem_sample(mode)
      fleet = Fleet.new(mode, @s.servers, @s.kafka, @s.topic, 1)
      producer = fleet.producers.first
      message = { topic: @s.topic, payload: "x" * @s.bytes }.freeze
      20.times { producer.produce_sync(message) }
      samples = Array.new(@s.latency_messages) do
        Clock.measure { producer.produce_sync(message) } * 1e6
      end
      { p50: Stats.percentile(samples, 0.5), p99: Stats.percentile(samples, 0.99) }
    ensure
      fleet&.close
    end
  end
end
