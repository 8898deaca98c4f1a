# frozen_string_literal: true

require "spec_helper"
require "weakref"
require_relative "gc_helpers"

# G1: labels and handles whose only reference is native (the producer's in-flight table).
RSpec.describe "labels held only by native code", gc: true do
  it "delivers reports with intact labels after the handles were dropped and the heap compacted",
     timeout: 600 do
    topic = mock_topic(partitions: 3)
    producer = build_producer
    producer.produce_sync(topic: topic, payload: "warm-up")
    seen = Queue.new
    producer.monitor.subscribe("message.acknowledged") do |event|
      label = event[:label]
      seen << [label.class, label, event[:delivery_report].label.equal?(label)] if label
    end
    count = 5_000
    weak = nil
    alive_in_flight = nil
    started = GcSpecHelpers.monotonic

    with_slow_brokers(1_000) do
      # Built in a method frame that returns nothing: no Ruby reference to a handle or a
      # label survives it, only weak ones.
      weak = produce_and_forget(producer, topic, count)
      4.times { GC.start(full_mark: true, immediate_sweep: true) }
      # Still in flight (RTT 1 s): the in-flight table keeps every dropped handle alive.
      alive_in_flight = weak.count(&:weakref_alive?)
      GC.compact
      GC.verify_compaction_references(**{ GcSpecHelpers.compaction_keyword => true, toward: :empty })
    end

    reports = Array.new(count) { seen.pop }
    elapsed = GcSpecHelpers.monotonic - started
    warn format("[gc] native-only labels: %d reports, %d/%d weakrefs alive while in flight, %.1fs",
                reports.size, alive_in_flight, count, elapsed)
    expect(reports.size).to eq(count)
    expect(alive_in_flight).to eq(count)
    by_n = reports.to_h { |klass, label, same| [label_n(label), [klass, label, same]] }
    expect(by_n.keys.sort).to eq((0...count).to_a)
    by_n.each do |n, (klass, label, same)|
      expected = GcSpecHelpers.label_for(n)
      expect(klass).to equal(expected.class)
      expect(label).to eq(expected)
      expect(same).to be(true)
    end
  end

  def produce_and_forget(producer, topic, count)
    Array.new(count) do |n|
      WeakRef.new(producer.produce_async(topic: topic, payload: "n#{n}", label: GcSpecHelpers.label_for(n)))
    end
  end

  def label_n(label)
    case label
    when Hash then label[:n]
    when String then Integer(label.delete_prefix("string-"))
    else label.n
    end
  end
end
