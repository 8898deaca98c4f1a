# frozen_string_literal: true

require "spec_helper"
require "zlib"

RSpec.describe "WaterDrop::Producer partition_key and partition_count" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic(partitions: 6) }

  describe "partition_key" do
    it "sends every message with the same partition_key to the same partition" do
      keys = Array.new(30) { |i| "customer-#{i}" }
      first = keys.to_h { |k| [k, producer.produce_sync(topic: topic, payload: "1", partition_key: k).partition] }
      again = keys.to_h { |k| [k, producer.produce_async(topic: topic, payload: "2", partition_key: k).wait.partition] }
      many = producer.produce_many_sync(keys.map { |k| { topic: topic, payload: "3", partition_key: k } })
      expect(again).to eq(first)
      expect(many.map { |h| h.create_result.partition }).to eq(first.values)
      expect(first.values.uniq.size).to be > 1
      expect(first.values).to all(be_between(0, 5))
    end

    it "picks the partition with librdkafka's consistent_random partitioner (crc32) by default" do
      keys = Array.new(20) { |i| "k#{i}" }
      partitions = keys.map { |k| producer.produce_sync(topic: topic, payload: "x", partition_key: k).partition }
      expect(partitions).to eq(keys.map { |k| Zlib.crc32(k) % 6 })
    end

    it "is used instead of the key to pick the partition, while the key is still written" do
      report = producer.produce_sync(topic: topic, payload: "x", key: "other-key", partition_key: "pk")
      expect(report.partition).to eq(Zlib.crc32("pk") % 6)
      expect(kcat_read(topic, "%k", partition: report.partition)).to eq(["other-key"])
    end

    it "gives way to an explicit partition" do
      target = (Zlib.crc32("pk") % 6 + 1) % 6
      report = producer.produce_sync(topic: topic, payload: "x", partition: target, partition_key: "pk")
      expect(report.partition).to eq(target)
    end

    it "follows the producer's kafka partitioner setting" do
      murmur = build_producer(kafka: { partitioner: "murmur2" })
      keys = Array.new(20) { |i| "k#{i}" }
      by_murmur = keys.map { |k| murmur.produce_sync(topic: topic, payload: "x", partition_key: k).partition }
      by_default = keys.map { |k| producer.produce_sync(topic: topic, payload: "x", partition_key: k).partition }
      expect(by_murmur).not_to eq(by_default)
      expect(keys.map { |k| murmur.produce_sync(topic: topic, payload: "x", partition_key: k).partition }).to eq(by_murmur)
    end
  end

  describe "#partition_count" do
    it "returns the topic's partition count for a String or Symbol" do
      expect(producer.partition_count(topic)).to eq(6)
      expect(producer.partition_count(topic.to_sym)).to eq(6)
      expect(producer.partition_count(mock_topic(partitions: 1))).to eq(1)
    end

    it "returns -1 for a topic the cluster does not have (and does not create)" do
      # The mock brokers, like Kafka with auto.create.topics.enable, create a topic that a
      # metadata request asks for unless the client says not to.
      strict = build_producer(kafka: { "allow.auto.create.topics": false })
      expect(strict.partition_count("missing-#{SecureRandom.hex(6)}")).to eq(-1)
    end

    it "connects the producer when needed" do
      expect(producer.status).to be_configured
      producer.partition_count(topic)
      expect(producer.status).to be_connected
    end
  end
end
