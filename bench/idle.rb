# frozen_string_literal: true

module Bench
  # Cost of connected producers that do nothing: threads, wake-ups, CPU and RSS over a window.
  # Runs in a fresh child process (bin/bench --worker idle) so nothing else is counted.
  class Idle
    POLLER = /\Awaterdrop/

    def initialize(settings, mode)
      @s = settings
      @mode = mode
    end

    # @return [Hash] the figures, JSON-ready
    def run
      ruby_before = Thread.list.size
      os_before = ProcStats.os_threads
      rss_before = ProcStats.rss_kb
      fleet = Fleet.new(@mode, @s.servers, @s.kafka, @s.topic, @s.idle_producers)
      sleep 1 # let the warm-up's traffic settle
      figures = window(ruby_before, os_before, rss_before)
      fleet.close
      figures
    end

    private

    def window(ruby_before, os_before, rss_before)
      rss_after = ProcStats.rss_kb
      ruby_added = Thread.list.size - ruby_before
      switches_before = ProcStats.voluntary_switches
      cpu_before = Clock.cpu
      elapsed = Clock.measure { sleep @s.idle_seconds }
      cpu = Clock.cpu - cpu_before
      deltas = deltas(switches_before, ProcStats.voluntary_switches)
      pollers = deltas.select { |key, _| key.split(" ", 2).last.match?(POLLER) }
      {
        mode: @mode, producers: @s.idle_producers, ruby_threads_added: ruby_added,
        os_threads_added: ProcStats.os_threads - os_before, poller_threads: pollers.size,
        wakeups_per_sec: deltas.values.sum / elapsed, poller_wakeups_per_sec: pollers.values.sum / elapsed,
        cpu_percent: cpu * 100 / elapsed, rss_kb_per_producer: (rss_after - rss_before).to_f / @s.idle_producers
      }
    end

    def deltas(before, after)
      after.each_with_object({}) { |(key, count), out| out[key] = count - before.fetch(key, 0) }
    end
  end
end
