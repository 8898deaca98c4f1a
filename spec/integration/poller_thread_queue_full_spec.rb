# frozen_string_literal: true

require "spec_helper"

# A listener (on the poller thread) that produces into a full librdkafka queue: the queue
# only empties once delivery reports are served, and only this thread serves them
# (DESIGN.md rule 13b). Waiting and retrying there (wait_on_queue_full) cannot succeed: it
# only stalls every producer of the poller for wait_timeout_on_queue_full. The produce
# fails at once with librdkafka's queue_full instead, as with wait_on_queue_full false.
RSpec.describe "Queue full in a listener on the poller thread", timeout: 120 do
  it "fails the produce at once instead of waiting for reports only this thread serves" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("full", partitions: 1)
      producer = child_producer(
        cluster,
        kafka: { "queue.buffering.max.messages": 2, "linger.ms": 200 },
        max_wait_timeout: 5_000, wait_timeout_on_queue_full: 20_000, wait_backoff_on_queue_full: 50
      )
      # Each wait on a full queue is reported (instrument_on_wait_queue_full), and so is the
      # failure: one report means it failed without waiting.
      queue_full_reports = 0
      producer.monitor.subscribe("error.occurred") do |event|
        queue_full_reports += 1 if event[:type] == "message.produce_async"
      end
      outcome = Queue.new
      producer.monitor.subscribe("message.acknowledged") do |event|
        next unless event[:label] == :trigger

        begin
          3.times { |i| producer.produce_async(topic: "full", payload: "in-listener-#{i}") }
          outcome << :produced
        rescue WaterDrop::Errors::ProduceError => e
          outcome << [e.class.name, e.cause.code]
        end
      end
      producer.produce_sync(topic: "full", payload: "trigger", label: :trigger)
      failed = outcome.pop
      after = producer.produce_sync(topic: "full", payload: "after")
      producer.close
      [failed, queue_full_reports, after.partition]
    end

    expect(result).to eq([["WaterDrop::Errors::ProduceError", :queue_full], 1, 0])
  end
end
