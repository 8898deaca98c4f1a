# frozen_string_literal: true

require "spec_helper"
require "date"

RSpec.describe WaterDrop::Contracts::Message do
  subject(:contract) { described_class.new(max_payload_size: 10) }

  let(:valid) { { topic: "events", payload: "data" } }

  def expect_invalid(message, errors)
    expect { contract.validate!(message) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, errors.inspect)
  end

  it "accepts a message with a String topic and payload" do
    expect(contract.errors(valid)).to eq({})
    expect { contract.validate!(valid) }.not_to raise_error
  end

  it "accepts every optional field at once" do
    message = valid.merge(
      key: "k", partition: 0, partition_key: "pk", timestamp: Time.now,
      headers: { "a" => "b", "multi" => %w[x y] }, label: Object.new, topic_config: { acks: 1 }
    )
    expect(contract.errors(message)).to eq({})
  end

  it "rejects something that is not a Hash" do
    expect_invalid([:topic, "x"], { message: "must be a hash" })
  end

  describe "topic" do
    it "must be present" do
      expect_invalid({ payload: "x" }, { topic: "must be present" })
    end

    it "accepts a Symbol" do
      expect(contract.errors(valid.merge(topic: :events))).to eq({})
    end

    it "accepts word characters, dashes and dots" do
      expect(contract.errors(valid.merge(topic: "a-b.c_D9"))).to eq({})
    end

    ["with space", "slash/topic", "", "zażółć!"].each do |topic|
      it "rejects #{topic.inspect} with the format message" do
        expect_invalid(valid.merge(topic: topic), { topic: "does not match the topic allowed format" })
      end
    end

    [nil, 12, ["events"]].each do |topic|
      it "rejects #{topic.inspect} (not a String or Symbol) with the format message" do
        expect_invalid(valid.merge(topic: topic), { topic: "does not match the topic allowed format" })
      end
    end
  end

  describe "payload" do
    it "must be present (as a key)" do
      expect_invalid({ topic: "events" }, { payload: "must be present" })
    end

    it "may be nil (a tombstone)" do
      expect(contract.errors(valid.merge(payload: nil))).to eq({})
    end

    [1, :sym, ["x"]].each do |payload|
      it "rejects #{payload.inspect}" do
        expect_invalid(valid.merge(payload: payload), { payload: "must be string or nil" })
      end
    end

    it "accepts exactly max_payload_size bytes" do
      expect(contract.errors(valid.merge(payload: "x" * 10))).to eq({})
    end

    it "rejects more bytes than max_payload_size (counting bytes, not characters)" do
      expect_invalid(valid.merge(payload: "ż" * 6), { payload: "is more than `max_payload_size` config value" })
    end
  end

  describe "key" do
    it "may be nil" do
      expect(contract.errors(valid.merge(key: nil))).to eq({})
    end

    ["", 1, :key].each do |key|
      it "rejects #{key.inspect}" do
        expect_invalid(valid.merge(key: key), { key: "must be a non-empty string" })
      end
    end

    it "is checked even when the topic is missing" do
      expect_invalid({ payload: "x", key: "" }, { topic: "must be present", key: "must be a non-empty string" })
    end
  end

  describe "partition" do
    [-1, 0, 7].each do |partition|
      it "accepts #{partition}" do
        expect(contract.errors(valid.merge(partition: partition))).to eq({})
      end
    end

    [-2, nil, "1", 1.0].each do |partition|
      it "rejects #{partition.inspect}" do
        expect_invalid(valid.merge(partition: partition), { partition: "must be an integer greater or equal to -1" })
      end
    end
  end

  describe "partition_key" do
    it "may be nil" do
      expect(contract.errors(valid.merge(partition_key: nil))).to eq({})
    end

    ["", 5, :pk].each do |partition_key|
      it "rejects #{partition_key.inspect}" do
        expect_invalid(valid.merge(partition_key: partition_key), { partition_key: "must be a non-empty string" })
      end
    end
  end

  describe "timestamp" do
    [nil, Time.now, 1_700_000_000_000].each do |timestamp|
      it "accepts #{timestamp.class}" do
        expect(contract.errors(valid.merge(timestamp: timestamp))).to eq({})
      end
    end

    ["2024-01-01", 1.5, Date.today].each do |timestamp|
      it "rejects a #{timestamp.class}" do
        expect_invalid(valid.merge(timestamp: timestamp), { timestamp: "must be either time or integer" })
      end
    end
  end

  describe "headers" do
    it "may be nil or empty" do
      expect(contract.errors(valid.merge(headers: nil))).to eq({})
      expect(contract.errors(valid.merge(headers: {}))).to eq({})
    end

    it "must be a Hash" do
      expect_invalid(valid.merge(headers: [%w[a b]]), { headers: "must be a hash" })
    end

    it "needs String keys" do
      expect_invalid(valid.merge(headers: { a: "b" }), { headers: "all headers keys need to be of type String" })
    end

    it "accepts String values and Arrays of Strings (several values for one key)" do
      expect(contract.errors(valid.merge(headers: { "a" => "1", "b" => %w[2 3], "c" => [] }))).to eq({})
    end

    [1, nil, ["x", 1], { "x" => "y" }].each do |value|
      it "rejects the value #{value.inspect}" do
        expect_invalid(
          valid.merge(headers: { "a" => value }), { headers: "all headers values need to be strings or arrays of strings" }
        )
      end
    end
  end

  it "reports every failing field at once, keyed by Symbol" do
    expect_invalid(
      { topic: "bad topic", payload: 1, key: "", partition: -5 },
      {
        topic: "does not match the topic allowed format", payload: "must be string or nil",
        key: "must be a non-empty string", partition: "must be an integer greater or equal to -1"
      }
    )
  end

  it "does not validate label or topic_config" do
    expect(contract.errors(valid.merge(label: nil, topic_config: "anything"))).to eq({})
  end

  describe "through a producer" do
    let(:producer) { build_producer(max_payload_size: 5) }

    it "raises MessageInvalidError from every produce method before anything is sent" do
      bad = { topic: "x y", payload: "p" }
      message = { topic: "does not match the topic allowed format" }.inspect
      %i[produce_sync produce_async].each do |method|
        expect { producer.public_send(method, bad) }.to raise_error(WaterDrop::Errors::MessageInvalidError, message)
      end
      %i[produce_many_sync produce_many_async].each do |method|
        expect { producer.public_send(method, [{ topic: "ok", payload: "p" }, bad]) }
          .to raise_error(WaterDrop::Errors::MessageInvalidError, message)
      end
      expect(producer.status).to be_configured
    end

    it "uses the producer's max_payload_size" do
      expect { producer.produce_async(topic: "ok", payload: "123456") }
        .to raise_error(WaterDrop::Errors::MessageInvalidError, { payload: "is more than `max_payload_size` config value" }.inspect)
    end
  end
end
