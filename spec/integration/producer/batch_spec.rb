# frozen_string_literal: true

require "spec_helper"

# produce_many_sync / produce_many_async: plain batches are checked and handed to librdkafka
# natively, in chunks; anything unusual goes through the Ruby contract. Both must write the
# same records and keep the same promises.
RSpec.describe "WaterDrop::Producer batches" do
  let(:producer) { build_producer }

  # More than two native chunks, with every field the native reader handles.
  def plain_batch(topic, count)
    Array.new(count) do |i|
      message = { topic: topic, payload: "m#{i}", key: "k#{i % 7}", headers: { "n" => i.to_s }, label: i }
      message[:partition] = 0 if i.even?
      message[:timestamp] = 1_700_000_000_000 + i if (i % 3).zero?
      message
    end
  end

  it "delivers a batch of 1,300 in order, each handle with its own message's label and partition" do
    topic = mock_topic(partitions: 1)
    handles = producer.produce_many_sync(plain_batch(topic, 1_300))

    expect(handles.size).to eq(1_300)
    expect(handles.map(&:label)).to eq((0...1_300).to_a)
    reports = handles.map(&:wait)
    expect(reports.map(&:offset)).to eq((0...1_300).to_a)
    expect(reports.map(&:error).uniq).to eq([nil])
    lines = kcat_read(topic, "%k|%s|%h")
    expect(lines).to eq(Array.new(1_300) { |i| "k#{i % 7}|m#{i}|n=#{i}" })
    stamped = kcat_read(topic, "%T").each_with_index.select { |_, i| (i % 3).zero? }.map(&:first)
    expect(stamped).to eq(Array.new(434) { |j| (1_700_000_000_000 + (j * 3)).to_s })
  end

  it "writes the same records through the native path and through the contract" do
    native_topic = mock_topic(partitions: 1)
    ruby_topic = mock_topic(partitions: 1)
    producer.produce_many_sync(plain_batch(native_topic, 600))
    # A middleware turns the native path off for this producer: every message goes through
    # the Ruby contract and dispatch.
    ruby_producer = build_producer
    ruby_producer.middleware.append(->(m) { m })
    ruby_producer.produce_many_async(plain_batch(ruby_topic, 600)).each(&:wait)

    format = "%p|%k|%s|%h"
    expect(kcat_read(native_topic, format)).to eq(kcat_read(ruby_topic, format))
    # Messages without a timestamp get the produce time; the given ones must be the same.
    given = ->(t) { kcat_read(t, "%T").each_with_index.select { |_, i| (i % 3).zero? }.map(&:first) }
    expect(given.call(native_topic)).to eq(given.call(ruby_topic))
  end

  it "sends nothing when the last message of a long batch is invalid" do
    topic = mock_topic(partitions: 1)
    batch = plain_batch(topic, 1_200) << { topic: topic, payload: "x", key: "" }

    expect { producer.produce_many_sync(batch) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, { key: "must be a non-empty string" }.inspect)
    expect { producer.produce_many_async(batch) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, { key: "must be a non-empty string" }.inspect)
    expect(producer.produce_sync(topic: topic, payload: "after").offset).to eq(0)
  end

  it "produces a batch whole when one message needs the Ruby path (a Time timestamp)" do
    topic = mock_topic(partitions: 1)
    batch = plain_batch(topic, 700)
    batch[650] = { topic: topic, payload: "timed", timestamp: Time.at(1_700_000_123, 456, :millisecond) }

    handles = producer.produce_many_async(batch)
    expect(handles.map { |h| h.wait.offset }).to eq((0...700).to_a)
    expect(kcat_read(topic, "%s|%T")[650]).to eq("timed|1700000123456")
  end

  it "returns an empty list for an empty batch" do
    expect(producer.produce_many_sync([])).to eq([])
    expect(producer.produce_many_async([])).to eq([])
  end
end
