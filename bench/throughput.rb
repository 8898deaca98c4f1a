# frozen_string_literal: true

module Bench
  # Aggregate msg/s for N producers (one Ruby thread each) x M messages, per polling mode and
  # API, beside rawbench. Repetitions are interleaved so drift hits every column alike.
  class Throughput
    APIS = %i[async many_sync].freeze
    MODES = %i[fd thread].freeze

    # @return [Hash{Array => Hash{Symbol => Array<Float>}}] [api, producers, messages] => column => msg/s per rep;
    #   columns :fd, :thread, :raw (rawbench, one thread per producer) and :raw1 (rawbench producing
    #   every message of the case from ONE thread: the limit for a Ruby process, which produces
    #   under the GVL, so on one core at a time)
    attr_reader :results
    # @return [Hash{Array => Array<Hash>}] [producers, messages] => per rep, the GC's work during
    #   the :fd produce_async case (GC.stat deltas: :minor, :major, :gc_ms; :wall_ms; :allocs per message)
    attr_reader :gc
    # @return [Hash{Symbol => Array<Float>}] column => produce_async µs per call at 1 producer, per rep
    attr_reader :call_cost
    # @return [Hash{Symbol => Array<Float>}] column => CPU µs of the producing thread per call
    attr_reader :call_cpu

    def initialize(settings, raw, progress)
      @s = settings
      @raw = raw
      @progress = progress
      @payload = ("x" * settings.bytes).freeze
      @results = Hash.new { |h, k| h[k] = Hash.new { |c, col| c[col] = [] } }
      @call_cost = Hash.new { |h, k| h[k] = [] }
      @call_cpu = Hash.new { |h, k| h[k] = [] }
      @gc = Hash.new { |h, k| h[k] = [] }
    end

    def run
      cases = @s.producers.size * @s.messages.size
      @progress.section("throughput", @s.reps * cases * ((MODES.size * APIS.size) + 1))
      @s.reps.times do |rep|
        MODES.each { |mode| run_mode(mode, rep) }
        run_raw(rep)
      end
      settle
    end

    private

    # Once measured, looking up a case that was not run gives nil instead of quietly adding an
    # empty row to {#results} (the report reads it several times, and other sections look up
    # their own cases in it).
    def settle
      @results.default_proc = nil
      @results.each_value { |cols| cols.default_proc = nil }
      @gc.default_proc = nil
      self
    end

    def run_mode(mode, rep)
      fleet = Fleet.new(mode, @s.servers, @s.kafka, @s.topic, @s.producers.max)
      each_case do |count, messages|
        APIS.each do |api|
          @progress.step("rep #{rep + 1} #{mode} #{api} #{count} producers x #{messages}")
          rate = api == :async ? async_rate(fleet.first(count), messages, mode) : many_rate(fleet.first(count), messages)
          @results[[api, count, messages]][mode] << rate
        end
      end
    ensure
      fleet&.close
    end

    def run_raw(rep)
      each_case do |count, messages|
        @progress.step("rep #{rep + 1} raw #{count} producers x #{messages}")
        line = @raw.throughput(count, messages, @s.bytes)
        # One thread producing all count x messages (the same as `line` for one producer).
        single = count == 1 ? line : @raw.throughput(1, count * messages, @s.bytes)
        APIS.each do |api|
          @results[[api, count, messages]][:raw] << line.fetch("msgs_per_sec")
          @results[[api, count, messages]][:raw1] << single.fetch("msgs_per_sec")
        end
        @call_cost[:raw] << line.fetch("produce_us_per_msg") if count == 1 && messages == @s.messages.max
      end
    end

    def each_case(&block)
      @s.producers.product(@s.messages).each(&block)
    end

    def async_rate(producers, messages, mode)
      message = { topic: @s.topic, payload: @payload }.freeze
      loops = []
      cpus = []
      gc_before = gc_counters
      elapsed = Clock.measure do
        threads = producers.map do |producer|
          Thread.new do
            handles = nil
            cpu0 = Clock.thread_cpu
            loops << Clock.measure { handles = Array.new(messages) { producer.produce_async(message) } }
            cpus << (Clock.thread_cpu - cpu0)
            handles.each(&:wait)
          end
        end
        threads.each(&:join)
      end
      record_gc(producers.size, messages, gc_before, elapsed) if mode == :fd
      if producers.size == 1 && messages == @s.messages.max
        @call_cost[mode] << (loops.first * 1e6 / messages)
        @call_cpu[mode] << (cpus.first * 1e6 / messages)
      end
      producers.size * messages / elapsed
    end

    def gc_counters
      stat = GC.stat
      [stat[:minor_gc_count], stat[:major_gc_count], stat[:time] || 0, stat[:total_allocated_objects]]
    end

    def record_gc(count, messages, before, elapsed)
      minor, major, time, allocated = gc_counters.zip(before).map { |now, was| now - was }
      @gc[[count, messages]] << {
        minor: minor, major: major, gc_ms: time, wall_ms: elapsed * 1000.0,
        # Per produce_async + wait; the loop's own few objects (threads, the handle arrays) are
        # left in: they add less than 0.01 per message.
        allocs: allocated.to_f / (count * messages)
      }
    end

    def many_rate(producers, messages)
      batch = Array.new(messages) { { topic: @s.topic, payload: @payload } }
      elapsed = Clock.measure do
        producers.map { |producer| Thread.new { producer.produce_many_sync(batch) } }.each(&:join)
      end
      producers.size * messages / elapsed
    end
  end
end
