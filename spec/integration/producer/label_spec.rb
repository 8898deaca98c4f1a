# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop::Producer message labels" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic }
  let(:label) { Struct.new(:request_id).new("req-1") }

  it "returns the same object on the report of produce_sync" do
    expect(producer.produce_sync(topic: topic, payload: "x", label: label).label).to equal(label)
  end

  it "returns the same object on the handle and report of produce_async" do
    handle = producer.produce_async(topic: topic, payload: "x", label: label)
    expect(handle.label).to equal(label)
    expect(handle.wait.label).to equal(label)
  end

  it "keeps each label with its message in produce_many_* and flushes" do
    labels = Array.new(3) { Object.new }
    handles = producer.produce_many_sync(labels.map { |l| { topic: topic, payload: "x", label: l } })
    expect(handles.map(&:label)).to eq(labels)
    expect(handles.map { |h| h.create_result.label }.zip(labels)).to all(satisfy { |a, b| a.equal?(b) })

    producer.buffer_many(labels.map { |l| { topic: topic, payload: "y", label: l } })
    flushed = producer.flush_async
    expect(flushed.map { |h| h.wait.label }.zip(labels)).to all(satisfy { |a, b| a.equal?(b) })
  end

  it "passes the label to message.acknowledged listeners" do
    acked = Queue.new
    producer.monitor.subscribe("message.acknowledged") { |event| acked << event }
    producer.produce_sync(topic: topic, payload: "x", label: label)
    event = acked.pop
    expect(event[:label]).to equal(label)
    expect(event[:delivery_report].label).to equal(label)
  end

  it "passes the label of a failed delivery to error.occurred listeners" do
    producer.produce_sync(topic: topic, payload: "warm-up")
    errors = Queue.new
    producer.monitor.subscribe("error.occurred") { |event| errors << event }
    mock_cluster.push_request_errors(0, 10) # Produce -> MESSAGE_TOO_LARGE (not retried)
    handle = producer.produce_async(topic: topic, payload: "x", label: label)
    expect { handle.wait }.to raise_error(WaterdropFd::RdkafkaError)
    event = errors.pop
    expect(event[:type]).to eq("librdkafka.dispatch_error")
    expect(event[:label]).to equal(label)
  end

  it "allows any object, including nil and frozen values" do
    expect(producer.produce_sync(topic: topic, payload: "x", label: nil).label).to be_nil
    frozen = "frozen".freeze
    expect(producer.produce_sync(topic: topic, payload: "x", label: frozen).label).to equal(frozen)
  end

  it "keeps an unreferenced label alive until its report (GC)" do
    handles = Array.new(20) { |i| producer.produce_async(topic: topic, payload: "x", label: "label-#{i}" * 10) }
    GC.start
    GC.compact if GC.respond_to?(:compact)
    expect(handles.map { |h| h.wait.label }).to eq(Array.new(20) { |i| "label-#{i}" * 10 })
  end
end
