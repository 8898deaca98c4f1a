# frozen_string_literal: true

module Bench
  # The issue's targets, computed from the run's medians. Each row: [target, figure, met?].
  class Targets
    def initialize(settings, throughput: nil, latency: nil, idle: nil, gvl: nil)
      @s = settings
      @t = throughput
      @l = latency
      @idle = idle
      @gvl = gvl
    end

    def rows
      [*throughput_rows, *latency_rows, *idle_rows, *gvl_rows]
    end

    private

    def med(api, count, col)
      Stats.median(@t.results[[api, count, @s.messages.max]][col])
    end

    def throughput_rows
      return [] unless @t

      low, high = @s.producers.minmax
      ratios = @s.producers.map { |n| med(:async, n, :fd) / med(:async, n, :raw) }
      versus = med(:async, high, :fd) / med(:async, high, :thread)
      rows = [[":fd >= 0.8x raw at every producer count (produce_async)", "min #{fmt(ratios.min)}x", ratios.min >= 0.8]]
      # The per-call cost is measured at 1 producer only; the scaling needs two counts.
      unless @t.call_cost[:fd].empty?
        cost = Stats.median(@t.call_cost[:fd])
        rows << ["produce_async <= 1.5 us per call at 1 producer (:fd)", "#{fmt(cost)} us", cost <= 1.5]
      end
      if low != high
        scale = med(:async, high, :fd) / med(:async, low, :fd)
        rows << ["#{high}-producer :fd aggregate >= 80% of #{low}-producer", "#{(scale * 100).round}%", scale >= 0.8]
      end
      rows << [":fd >= 1.5x :thread at #{high} producers", "#{fmt(versus)}x", versus >= 1.5]
      rows.concat(one_thread_rows)
      rows.concat(gc_rows(high))
    end

    # Against rawbench producing from ONE thread, at every producer and message count.
    def one_thread_rows
      { async: 0.8, many_sync: 0.9 }.map do |api, goal|
        ratios = @t.results.select { |(a, _, _), _| a == api }.map do |_, cols|
          Stats.median(cols[:fd]) / Stats.median(cols[:raw1])
        end
        ["#{Report::API_NAMES.fetch(api)}: :fd >= #{goal}x raw 1 thread at every case", "min #{fmt(ratios.min)}x",
         ratios.min >= goal]
      end
    end

    def gc_rows(high)
      reps = @t.gc[[high, @s.messages.max]] or return []
      share = Stats.median(reps.map { |r| r[:gc_ms] / r[:wall_ms] })
      # At the largest message count the loop's own objects (threads, handle arrays) add < 0.01.
      allocs = Stats.median(@t.gc.select { |(_, m), _| m == @s.messages.max }.values.flatten.map { |r| r[:allocs] })
      [["GC <= 15% of the wall time at #{high} producers x #{@s.messages.max} (produce_async)",
        "#{(share * 100).round}%", share <= 0.15],
       ["<= 2 allocations per produce_async + wait (:fd)", format("%.2f", allocs), allocs < 2.01]]
    end

    def latency_rows
      return [] unless @l

      ratio = Stats.median(@l.results[:fd][:p50]) / Stats.median(@l.results[:raw][:p50])
      [["produce_sync p50 within 1.2x raw", "#{fmt(ratio)}x", ratio <= 1.2]]
    end

    def idle_rows
      fd = @idle&.fetch(:fd, nil) or return []
      [
        ["#{fd[:producers]} idle :fd producers add 1 thread", "#{fd[:ruby_threads_added]} Ruby thread(s)",
         fd[:ruby_threads_added] == 1],
        ["#{fd[:producers]} idle :fd producers: <= ~1 wake-up/s (poller thread)",
         "#{fmt(fd[:poller_wakeups_per_sec])}/s (all threads: #{fd[:wakeups_per_sec].round}/s)",
         fd[:poller_wakeups_per_sec] <= 1.5]
      ]
    end

    # The target reads "while 25 producers produce": the flat-out load. The produce_sync-loop
    # load is shown in the GVL table only; there MRI's scheduler starves the producers (a
    # woken thread waits for the CPU-bound thread's 100 ms time slice to end), which keeps
    # the counter's share high without saying anything good about the producers.
    def gvl_rows
      fd = @gvl&.fetch(:fd, nil) or return []
      load = fd[:loads][:flat_out] or return []
      [["CPU-bound thread keeps >= 90% with #{fd[:producers]} :fd producers producing flat out",
        "#{(load[:ratio] * 100).round}%", load[:ratio] >= 0.9]]
    end

    def fmt(value)
      format("%.2f", value)
    end
  end
end
