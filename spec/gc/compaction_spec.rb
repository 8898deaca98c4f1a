# frozen_string_literal: true

require "spec_helper"
require_relative "gc_helpers"

# GC compaction while labels and handles are held by native code (reliability.md G1, G2).
RSpec.describe "GC compaction with messages in flight", gc: true do
  it "keeps 10,000 in-flight labels identical across GC.verify_compaction_references", timeout: 600 do
    topic = mock_topic(partitions: 3)
    producers = Array.new(5) { build_producer }
    producers.each { |p| p.produce_sync(topic: topic, payload: "warm-up") }

    labels = Array.new(10_000) { |i| GcSpecHelpers.label_for(i) }
    classes = labels.map(&:class)
    handles = nil
    in_flight_at_compaction = nil
    started = GcSpecHelpers.monotonic

    with_slow_brokers(300) do
      handles = labels.each_with_index.map do |label, i|
        producers[i % 5].produce_async(topic: topic, payload: "p#{i}", label: label)
      end
      in_flight_at_compaction = handles.count(&:pending?)
      GcSpecHelpers.verify_compaction_references!
      GC.compact
    end

    reports = handles.map { |h| h.wait(max_wait_timeout_ms: 60_000) }
    elapsed = GcSpecHelpers.monotonic - started
    warn format("[gc] verify_compaction_references: 10000 messages, %d in flight at compaction, %.1fs",
                in_flight_at_compaction, elapsed)

    expect(in_flight_at_compaction).to be > 5_000
    reports.each_with_index do |report, i|
      expect(report.error).to be_nil
      expect(report.label).to equal(labels[i])
      expect(report.label.class).to equal(classes[i])
      expect(report.label).to eq(GcSpecHelpers.label_for(i))
      expect(handles[i].label).to equal(labels[i])
    end
  end

  it "completes 200,000 messages on 10 producers and 2 pollers with GC.auto_compact on", timeout: 600 do
    topic = mock_topic(partitions: 6)
    dedicated = WaterDrop::Polling::Poller.new
    producers = Array.new(10) do |i|
      i.even? ? build_producer : build_producer(polling: { mode: :fd, poller: dedicated })
    end
    total = Integer(ENV.fetch("GC_AUTO_COMPACT_MESSAGES", 200_000))
    per_producer = total / producers.size
    compactions_before = GC.stat(:compact_count) || 0
    previous = GC.auto_compact
    started = GcSpecHelpers.monotonic
    failures = Queue.new

    begin
      GC.auto_compact = true
      threads = producers.each_with_index.map do |producer, pi|
        Thread.new do
          batch = []
          per_producer.times do |k|
            n = pi * per_producer + k
            label = GcSpecHelpers.label_for(n)
            batch << [n, producer.produce_async(topic: topic, payload: "m#{n}", label: label)]
            next unless batch.size >= 2_000 || k == per_producer - 1

            batch.each do |m, handle|
              report = handle.wait(max_wait_timeout_ms: 60_000)
              expected = GcSpecHelpers.label_for(m)
              ok = report.error.nil? && report.label.class == expected.class && report.label == expected &&
                   handle.label.equal?(report.label)
              failures << [m, report.label.class, report.label.inspect[0, 120], report.error] unless ok
            end
            batch.clear
            GC.compact if (k / 2_000) % 10 == 5
          end
        end
      end
      threads.each(&:join)
    ensure
      GC.auto_compact = previous
    end

    elapsed = GcSpecHelpers.monotonic - started
    compactions = (GC.stat(:compact_count) || 0) - compactions_before
    warn format("[gc] auto_compact: %d messages on 10 producers / 2 pollers, %d compactions, %.1fs",
                per_producer * producers.size, compactions, elapsed)
    bad = []
    bad << failures.pop until failures.empty?
    expect(bad).to be_empty, "labels broken: #{bad.first(5).inspect}"
    expect(dedicated.count).to eq(5)
    expect(GC.auto_compact).to eq(previous)
  end
end
