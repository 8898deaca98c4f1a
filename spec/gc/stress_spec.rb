# frozen_string_literal: true

require "spec_helper"
require_relative "gc_helpers"

# The whole producer life cycle under GC.stress (a GC at every allocation): any VALUE that
# native code holds without marking it, or reads after a move, breaks here first.
RSpec.describe "producer life cycle under GC.stress", gc: true do
  def under_stress
    previous = GC.stress
    GC.stress = true
    yield
  ensure
    GC.stress = previous
  end

  it "creates, produces (sync and many_sync) and closes producers", timeout: 600 do
    topic = mock_topic
    started = GcSpecHelpers.monotonic
    reports = []
    under_stress do
      1.times do |round|
        producer = build_producer
        3.times do |i|
          n = round * 10 + i
          reports << [n, producer.produce_sync(topic: topic, payload: "s#{n}", label: GcSpecHelpers.label_for(n))]
        end
        batch = Array.new(4) { |i| { topic: topic, payload: "b#{i}", label: GcSpecHelpers.label_for(100 + i) } }
        handles = producer.produce_many_sync(batch)
        handles.each_with_index { |h, i| reports << [100 + i, h.create_result] }
        producer.close
        expect(producer.status).to be_closed
      end
    end
    warn format("[gc] GC.stress life cycle: 1 producer, %d reports, %.1fs",
                reports.size, GcSpecHelpers.monotonic - started)
    reports.each do |n, report|
      expected = GcSpecHelpers.label_for(n)
      expect(report.error).to be_nil
      expect(report.label.class).to equal(expected.class)
      expect(report.label).to eq(expected)
    end
  end

  it "runs transactions", timeout: 600 do
    topic = mock_topic
    started = GcSpecHelpers.monotonic
    producer = build_producer(kafka: { "transactional.id": "gc-#{SecureRandom.hex(4)}" })
    handles = []
    under_stress do
      2.times do |t|
        producer.transaction do
          2.times do |i|
            n = t * 10 + i
            handles << [n, producer.produce_async(topic: topic, payload: "t#{n}", label: GcSpecHelpers.label_for(n))]
          end
        end
      end
      producer.close
    end
    warn format("[gc] GC.stress transactions: 2 transactions, %d messages, %.1fs",
                handles.size, GcSpecHelpers.monotonic - started)
    handles.each do |n, handle|
      report = handle.create_result
      expect(report.error).to be_nil
      expect(report.label).to eq(GcSpecHelpers.label_for(n))
      expect(report.label.class).to equal(GcSpecHelpers.label_for(n).class)
    end
  end
end
