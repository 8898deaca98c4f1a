# frozen_string_literal: true

require "spec_helper"
require_relative "gc_helpers"

# The churn reproduction: allocation pressure, short-lived producers and handles with labels
# of mixed types, and GC.compact every second, for GC_SOAK_SECONDS (default 60).
RSpec.describe "GC churn soak", gc: true do
  it "keeps every label's class and value while producers and handles churn", timeout: 900 do
    seconds = Float(ENV.fetch("GC_SOAK_SECONDS", 60))
    per_round = Integer(ENV.fetch("GC_CHURN_COUNT", 2_000))
    topic = mock_topic(partitions: 3)
    stop = false
    errors = Queue.new
    counts = Hash.new(0)
    counts_mutex = Mutex.new
    started = GcSpecHelpers.monotonic
    deadline = started + seconds

    allocators = Array.new(2) do
      Thread.new do
        junk = []
        until stop
          junk << ("x" * rand(1..512)) << { a: rand.to_s }
          junk.clear if junk.size > 20_000
        end
      end
    end
    compactions = 0
    compactor = Thread.new do
      until stop
        sleep 1
        GC.compact
        compactions += 1
      end
    end

    workers = Array.new(5) do |w|
      Thread.new do
        round = 0
        while GcSpecHelpers.monotonic < deadline
          # A fresh short-lived producer every round.
          producer = build_producer
          pending = []
          per_round.times do |i|
            n = (w * 1_000_000) + (round * per_round) + i
            pending << [n, producer.produce_async(topic: topic, payload: "c#{n}", label: GcSpecHelpers.label_for(n))]
            if pending.size >= 200
              check(pending, errors)
              counts_mutex.synchronize { counts[:handles] += pending.size }
              pending.clear
            end
          end
          check(pending, errors)
          counts_mutex.synchronize { counts[:handles] += pending.size }
          producer.close
          counts_mutex.synchronize { counts[:producers] += 1 }
          round += 1
        end
      rescue Exception => e # rubocop:disable Lint/RescueException
        errors << [:exception, e.class, e.message, e.backtrace&.first(5)]
      end
    end
    workers.each(&:join)
    stop = true
    compactor.join
    allocators.each(&:join)

    elapsed = GcSpecHelpers.monotonic - started
    warn format("[gc] churn: %.1fs, %d producers, %d handles, %d GC.compact, %d GC runs",
                elapsed, counts[:producers], counts[:handles], compactions, GC.count)
    bad = []
    bad << errors.pop until errors.empty?
    expect(bad).to be_empty, "broken: #{bad.first(5).inspect}"
    expect(counts[:handles]).to be >= 5 * per_round
  end

  def check(pending, errors)
    pending.each do |n, handle|
      report = handle.wait(max_wait_timeout_ms: 60_000)
      expected = GcSpecHelpers.label_for(n)
      label = report.label
      next if report.error.nil? && label.class == expected.class && label == expected && handle.label.equal?(label)

      errors << [n, expected.class, label.class, label.inspect[0, 100], report.error]
    end
  end
end
