# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop::Producer message timestamps" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic }

  it "writes a Time as its milliseconds since the epoch" do
    time = Time.at(1_700_000_000, 123_456, :usec)
    producer.produce_sync(topic: topic, payload: "x", timestamp: time)
    expect(kcat_read(topic, "%T")).to eq(["1700000000123"])
  end

  it "writes an Integer as milliseconds since the epoch" do
    producer.produce_sync(topic: topic, payload: "x", timestamp: 1_600_000_000_042)
    expect(kcat_read(topic, "%T")).to eq(["1600000000042"])
  end

  it "uses the current time when none (or nil) is given" do
    before = (Time.now.to_f * 1000).to_i
    producer.produce_sync(topic: topic, payload: "x")
    producer.produce_sync(topic: topic, payload: "y", timestamp: nil)
    after = (Time.now.to_f * 1000).to_i
    expect(kcat_read(topic, "%T").map(&:to_i)).to all(be_between(before - 1_000, after + 1_000))
  end

  it "writes timestamps from produce_many and buffered flushes too" do
    producer.produce_many_sync([{ topic: topic, payload: "a", timestamp: 1_500_000_000_000 }])
    producer.buffer(topic: topic, payload: "b", timestamp: Time.at(1_500_000_001))
    producer.flush_sync
    expect(kcat_read(topic, "%T")).to eq(%w[1500000000000 1500000001000])
  end

  it "rejects other types with MessageInvalidError" do
    expect { producer.produce_sync(topic: topic, payload: "x", timestamp: "2024-01-01") }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, { timestamp: "must be either time or integer" }.inspect)
  end
end
