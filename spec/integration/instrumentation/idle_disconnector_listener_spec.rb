# frozen_string_literal: true

require "spec_helper"

# The idle disconnector against the mock cluster, with a short timeout (the config setting
# requires >= 30 s, so the listener is subscribed by hand here).
RSpec.describe WaterDrop::Instrumentation::IdleDisconnectorListener do
  let(:topic) { mock_topic }

  def idle_producer(timeout_ms)
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    producer.monitor.subscribe(described_class.new(producer, disconnect_timeout: timeout_ms))
    producer
  end

  def lifecycle(producer)
    events = Queue.new
    %w[producer.disconnecting producer.disconnected producer.connected].each do |name|
      producer.monitor.subscribe(name) { |event| events << event }
    end
    events
  end

  it "disconnects a producer that sent nothing for the timeout, and it reconnects on use" do
    producer = idle_producer(300)
    events = lifecycle(producer)
    producer.produce_sync(topic: topic, payload: "before idling")
    expect(events.pop.id).to eq("producer.connected")
    disconnecting = Timeout.timeout(10) { events.pop }
    disconnected = Timeout.timeout(10) { events.pop }
    expect(disconnecting.id).to eq("producer.disconnecting")
    expect(disconnected.id).to eq("producer.disconnected")
    expect(disconnected.payload.keys).to contain_exactly(:producer_id, :time)
    expect(producer.status).to be_disconnected

    expect(producer.produce_sync(topic: topic, payload: "after idling").error).to be_nil
    expect(producer.status).to be_connected
  end

  it "keeps a producer that keeps sending connected" do
    producer = idle_producer(600)
    events = lifecycle(producer)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 1.5
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      producer.produce_sync(topic: topic, payload: "busy")
      sleep 0.1
    end
    expect(Array.new(events.size) { events.pop.id }).to eq(["producer.connected"])
    expect(producer.status).to be_connected
  end
end
