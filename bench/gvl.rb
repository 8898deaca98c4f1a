# frozen_string_literal: true

module Bench
  # How much a CPU-bound Ruby thread keeps while producers produce: iterations per second of a
  # tight counter loop, alone and beside N producing threads. Runs in a child process.
  class Gvl
    def initialize(settings, mode)
      @s = settings
      @mode = mode
    end

    # @return [Hash] the figures, JSON-ready
    def run
      solo = counter_rate
      fleet = Fleet.new(@mode, @s.servers, @s.kafka, @s.topic, @s.gvl_producers)
      stop = false
      produced = 0
      message = { topic: @s.topic, payload: "x" * @s.bytes }.freeze
      workers = fleet.producers.map do |producer|
        Thread.new do
          until stop
            Array.new(1_000) { producer.produce_async(message) }.each(&:wait)
            produced += 1_000
          end
        end
      end
      sleep 0.5 # let every producer get going
      started = produced
      busy = counter_rate
      rate = (produced - started) / @s.gvl_seconds
      stop = true
      workers.each(&:join)
      fleet.close
      { mode: @mode, producers: @s.gvl_producers, solo_per_sec: solo, busy_per_sec: busy,
        ratio: busy / solo, msgs_per_sec: rate }
    end

    private

    def counter_rate
      stop = false
      count = 0
      counter = Thread.new { count += 1 until stop }
      elapsed = Clock.measure do
        sleep @s.gvl_seconds
        stop = true
        counter.join
      end
      count / elapsed
    end
  end
end
