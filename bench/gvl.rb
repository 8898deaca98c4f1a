# frozen_string_literal: true

module Bench
  # How much a CPU-bound Ruby thread keeps while producers produce: iterations per second of a
  # tight counter loop, alone and beside N producing threads, under two loads. Runs in a child
  # process.
  #
  # - request: each producer thread loops produce_sync, one message at a time, as a request
  #   handler does that waits for its acknowledgement. What the counter loses here is the
  #   cost of producing, waiting and polling to the rest of the process.
  # - flat_out: each producer thread produces 1,000 messages with produce_async, waits for all,
  #   and starts again at once: 25 CPU-bound competitors for the GVL. The counter's share is
  #   bounded by how much Ruby time the producers need, whatever the polling design.
  class Gvl
    LOADS = %i[request flat_out].freeze

    def initialize(settings, mode)
      @s = settings
      @mode = mode
      @message = { topic: settings.topic, payload: "x" * settings.bytes }.freeze
    end

    # @return [Hash] the figures, JSON-ready
    def run
      solo = counter_rate
      fleet = Fleet.new(@mode, @s.servers, @s.kafka, @s.topic, @s.gvl_producers)
      loads = LOADS.to_h { |load| [load, under_load(fleet, load, solo)] }
      fleet.close
      { mode: @mode, producers: @s.gvl_producers, solo_per_sec: solo, loads: loads }
    end

    private

    def under_load(fleet, load, solo)
      stop = false
      produced = 0
      workers = fleet.producers.map do |producer|
        Thread.new do
          until stop
            sent = produce(producer, load) # not `produced += produce(...)`: that reads `produced` before the call
            produced += sent
          end
        end
      end
      sleep 0.5 # let every producer get going
      started = produced
      busy = counter_rate
      rate = (produced - started) / @s.gvl_seconds
      stop = true
      workers.each(&:join)
      { busy_per_sec: busy, ratio: busy / solo, msgs_per_sec: rate }
    end

    def produce(producer, load)
      if load == :request
        producer.produce_sync(@message)
        1
      else
        Array.new(1_000) { producer.produce_async(@message) }.each(&:wait)
        1_000
      end
    end

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
