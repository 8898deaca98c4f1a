# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop::Producer::Tombstone" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic(partitions: 2) }

  def expect_invalid(errors)
    raise_error(WaterDrop::Errors::MessageInvalidError, errors.inspect)
  end

  describe "#tombstone_sync" do
    it "writes a message with a NULL payload for the key to the given partition" do
      report = producer.tombstone_sync(topic: topic, key: "user-1", partition: 1)
      expect(report).to be_a(WaterdropFd::DeliveryReport)
      expect(report.partition).to eq(1)
      expect(report.offset).to eq(0)
      expect(kcat_read(topic, "%k|%s", partition: 1, null_as_text: true)).to eq(["user-1|NULL"])
    end

    it "replaces a given payload by nil and leaves the caller's Hash alone" do
      message = { topic: topic, key: "k", partition: 0, payload: "ignored" }
      producer.tombstone_sync(message)
      expect(message[:payload]).to eq("ignored")
      expect(kcat_read(topic, "%S", partition: 0)).to eq(["-1"])
    end

    it "keeps headers and label" do
      label = Object.new
      report = producer.tombstone_sync(topic: topic, key: "k", partition: 0, headers: { "why" => "gdpr" }, label: label)
      expect(report.label).to equal(label)
      expect(kcat_read(topic, "%h", partition: 0)).to eq(["why=gdpr"])
    end

    it "goes through middleware and the message contract like any message" do
      producer.middleware.append(->(m) { m.merge(headers: { "via" => "middleware" }) })
      producer.tombstone_sync(topic: topic, key: "k", partition: 0)
      expect(kcat_read(topic, "%h", partition: 0)).to eq(["via=middleware"])
      expect { producer.tombstone_sync(topic: "bad topic", key: "k", partition: 0) }
        .to expect_invalid({ topic: "does not match the topic allowed format" })
    end

    it "instruments message.produced_sync" do
      events = []
      producer.monitor.subscribe("message.produced_sync") { |e| events << e }
      producer.tombstone_sync(topic: topic, key: "k", partition: 0)
      expect(events.first[:message]).to include(topic: topic, key: "k", partition: 0, payload: nil)
    end
  end

  describe "#tombstone_async" do
    it "returns a handle whose report is the tombstone's" do
      handle = producer.tombstone_async(topic: topic, key: "k", partition: 1)
      expect(handle).to be_a(WaterdropFd::DeliveryHandle)
      expect(handle.wait.partition).to eq(1)
      expect(kcat_read(topic, "%k|%S", partition: 1)).to eq(["k|-1"])
    end
  end

  describe "#tombstone_many_sync" do
    it "writes every tombstone and returns completed handles" do
      handles = producer.tombstone_many_sync(
        [{ topic: topic, key: "a", partition: 0 }, { topic: topic, key: "b", partition: 1 }]
      )
      expect(handles.map(&:pending?)).to eq([false, false])
      expect(handles.map { |h| h.create_result.partition }).to eq([0, 1])
      expect(kcat_read(topic, "%k|%S", partition: 0) + kcat_read(topic, "%k|%S", partition: 1)).to eq(["a|-1", "b|-1"])
    end

    it "sends nothing when one tombstone is invalid" do
      expect do
        producer.tombstone_many_sync([{ topic: topic, key: "a", partition: 0 }, { topic: topic, key: "b" }])
      end.to expect_invalid({ partition: "must be present" })
      expect(producer.status).to be_configured
    end
  end

  describe "#tombstone_many_async" do
    it "returns a handle per tombstone" do
      handles = producer.tombstone_many_async([{ topic: topic, key: "a", partition: 1 }] * 3)
      expect(handles.map { |h| h.wait.offset }).to eq([0, 1, 2])
    end

    it "sends nothing when one tombstone is invalid" do
      expect { producer.tombstone_many_async([{ topic: topic, key: "", partition: 0 }]) }
        .to expect_invalid({ key: "must be a non-empty string" })
    end
  end

  describe "contract errors from every method" do
    {
      "a missing key" => [{ partition: 0 }, { key: "must be present" }],
      "an empty key" => [{ key: "", partition: 0 }, { key: "must be a non-empty string" }],
      "a nil key" => [{ key: nil, partition: 0 }, { key: "must be a non-empty string" }],
      "a Symbol key" => [{ key: :k, partition: 0 }, { key: "must be a non-empty string" }],
      "a missing partition" => [{ key: "k" }, { partition: "must be present" }],
      "partition -1" => [{ key: "k", partition: -1 }, { partition: "must be an integer greater or equal to 0" }],
      "a nil partition" => [{ key: "k", partition: nil }, { partition: "must be an integer greater or equal to 0" }],
      "a String partition" => [{ key: "k", partition: "1" }, { partition: "must be an integer greater or equal to 0" }],
      "no key and no partition" => [{}, { key: "must be present", partition: "must be present" }]
    }.each do |what, (fields, errors)|
      it "rejects #{what} with #{errors.inspect}" do
        message = { topic: "t" }.merge(fields)
        expect { producer.tombstone_sync(message) }.to expect_invalid(errors)
        expect { producer.tombstone_async(message) }.to expect_invalid(errors)
        expect { producer.tombstone_many_sync([message]) }.to expect_invalid(errors)
        expect { producer.tombstone_many_async([message]) }.to expect_invalid(errors)
      end
    end
  end

  it "works through a variant" do
    variant = producer.with(max_wait_timeout: 30_000)
    expect(variant.tombstone_sync(topic: topic, key: "k", partition: 0).offset).to eq(0)
  end
end
