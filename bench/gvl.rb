# frozen_string_literal: true

module Bench
  # How much a CPU-bound Ruby thread keeps while producers produce: iterations per second of a
  # tight counter loop, alone and beside N producing threads, under two loads. Runs in a child
  # process.
  #
  # - request: each producer thread loops produce_sync, one message at a time, as a request
  #   handler does that waits for its acknowledgement. Under MRI a thread woken by its report
  #   waits for the counter's time slice (100 ms) to end, so the producers crawl here and the
  #   counter keeps nearly everything; the msg/s column shows it.
  # - flat_out: each producer thread produces 1,000 messages with produce_async, waits for all,
  #   and starts again at once: 25 CPU-bound competitors for the GVL. The counter's share is
  #   bounded by how much Ruby time the producers need, whatever the polling design.
  class Gvl
    LOADS = %i[request flat_out].freeze
    # Solo and loaded windows alternate this many times per load: this VM's CPU speed drifts
    # by up to 1.5x over seconds, so each loaded window is compared with the solo window
    # just before it, and the median pair is reported.
    PAIRS = 3

    def initialize(settings, mode)
      @s = settings
      @mode = mode
      @message = { topic: settings.topic, payload: "x" * settings.bytes }.freeze
    end

    # @return [Hash] the figures, JSON-ready
    def run
      fleet = Fleet.new(@mode, @s.servers, @s.kafka, @s.topic, @s.gvl_producers)
      loads = LOADS.to_h { |load| [load, measure_load(fleet, load)] }
      fleet.close
      { mode: @mode, producers: @s.gvl_producers, loads: loads }
    end

    private

    def measure_load(fleet, load)
      pairs = Array.new(PAIRS) do
        solo = counter
        busy, rate = under_load(fleet, load)
        { solo: solo, busy: busy, rate: rate, ratio: busy[:per_sec] / solo[:per_sec] }
      end
      pair = pairs.sort_by { |p| p[:ratio] }[PAIRS / 2]
      { solo_per_sec: pair[:solo][:per_sec], busy_per_sec: pair[:busy][:per_sec], ratio: pair[:ratio],
        ratios: pairs.map { |p| p[:ratio] }, cpu_share: pair[:busy][:cpu_share] / pair[:solo][:cpu_share],
        msgs_per_sec: pair[:rate] }
    end

    # @return [Array(Hash, Float)] the counter's figures with the producers running, and their msg/s
    def under_load(fleet, load)
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
      busy = counter
      rate = (produced - started) / busy[:seconds]
      stop = true
      workers.each(&:join)
      [busy, rate]
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

    # Runs the counter loop for gvl_seconds: iterations per second, and the share of the
    # window it was on a CPU (its thread CPU time / wall time: its share of the GVL).
    def counter
      stop = false
      count = 0
      cpu = 0.0
      counter = Thread.new do
        started = Clock.thread_cpu
        count += 1 until stop
        cpu = Clock.thread_cpu - started
      end
      elapsed = Clock.measure do
        sleep @s.gvl_seconds
        stop = true
        counter.join
      end
      { per_sec: count / elapsed, cpu_share: cpu / elapsed, seconds: elapsed }
    end
  end
end
