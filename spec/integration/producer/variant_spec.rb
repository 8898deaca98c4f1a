# frozen_string_literal: true

require "spec_helper"
require "zlib"

# Variants (`producer.with(...)`) producing to the mock cluster.
RSpec.describe "WaterDrop::Producer::Variant against the mock cluster" do
  let(:producer) { build_producer }
  let(:keys) { Array.new(24) { |i| "key-#{i}" } }

  # The partition of one message per key, with the key given as `field` (:key or :partition_key).
  def partitions_for(target, topic, field)
    keys.map { |key| target.produce_sync(topic: topic, payload: "x", field => key).partition }
  end

  describe "topic_config" do
    it "partitions keyed messages with the variant's partitioner" do
      topic = mock_topic(partitions: 8)
      variant_partitions = partitions_for(producer.with(topic_config: { partitioner: "murmur2" }), topic, :key)

      murmur_producer = build_producer(kafka: { partitioner: "murmur2" })
      expect(partitions_for(murmur_producer, mock_topic(partitions: 8), :key)).to eq(variant_partitions)

      default_topic = mock_topic(partitions: 8)
      default_partitions = partitions_for(producer, default_topic, :key)
      expect(default_partitions).to eq(keys.map { |k| Zlib.crc32(k) % 8 })
      expect(variant_partitions).not_to eq(default_partitions)
    end

    it "uses the variant's partitioner for partition_key" do
      topic = mock_topic(partitions: 8)
      producer.produce_sync(topic: topic, payload: "the default producer uses the topic first")
      variant_partitions = partitions_for(producer.with(topic_config: { partitioner: "murmur2" }), topic, :partition_key)
      murmur_producer = build_producer(kafka: { partitioner: "murmur2" })
      expect(partitions_for(murmur_producer, topic, :partition_key)).to eq(variant_partitions)
      expect(partitions_for(producer, topic, :partition_key)).to eq(keys.map { |k| Zlib.crc32(k) % 8 })
    end

    it "applies message.timeout.ms to the variant's messages" do
      cluster = WaterdropFd::Testing::MockCluster.new(brokers: 1)
      cluster.create_topic("slow", partitions: 1)
      slow = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": cluster.bootstrap_servers } }
      (@producers_to_close ||= []) << slow
      cluster.set_rtt(1, 3_000)
      error = nil
      begin
        slow.with(topic_config: { "message.timeout.ms": 200 }).produce_sync(topic: "slow", payload: "late")
      rescue WaterDrop::Errors::ProduceError => e
        error = e
      end
      expect(error.cause).to be_a(WaterdropFd::RdkafkaError)
      expect(error.cause.code).to eq(:msg_timed_out)
    ensure
      slow&.close!
      cluster&.close
    end
  end

  describe "max_wait_timeout" do
    it "limits how long the variant's sync calls wait" do
      cluster = WaterdropFd::Testing::MockCluster.new(brokers: 1)
      cluster.create_topic("rtt", partitions: 1)
      slow = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": cluster.bootstrap_servers } }
      (@producers_to_close ||= []) << slow
      slow.produce_sync(topic: "rtt", payload: "warm-up")
      cluster.set_rtt(1, 1_000)
      expect { slow.with(max_wait_timeout: 50).produce_sync(topic: "rtt", payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause).to be_a(WaterdropFd::WaitTimeoutError) }
      # The producer's own limit (180 s) is untouched.
      expect(slow.produce_sync(topic: "rtt", payload: "y").offset).to eq(2)
    ensure
      slow&.close!
      cluster&.close
    end

    it "is what current_variant reports inside the call" do
      seen = []
      producer.middleware.append(->(m) { seen << producer.current_variant.max_wait_timeout and m })
      topic = mock_topic
      producer.with(max_wait_timeout: 4_321).produce_sync(topic: topic, payload: "a")
      producer.produce_sync(topic: topic, payload: "b")
      expect(seen).to eq([4_321, 180_000])
    end
  end

  describe "scope" do
    let(:topic) { mock_topic }

    it "holds only for the call made on the variant, then the default is back" do
      variant = producer.with(max_wait_timeout: 1_000)
      variant.produce_sync(topic: topic, payload: "a")
      expect(producer.current_variant).to be_default
      expect(Thread.current[:waterdrop_fd_variants]).to be_nil
    end

    it "leaves no fiber-local state after a call that raised" do
      expect { producer.with(max_wait_timeout: 1).produce_sync(topic: "bad topic", payload: "x") }
        .to raise_error(WaterDrop::Errors::MessageInvalidError)
      expect(Thread.current[:waterdrop_fd_variants]).to be_nil
      expect(producer.current_variant).to be_default
    end

    it "is fiber-local: another fiber sees the default variant while a variant call is suspended" do
      variant = producer.with(max_wait_timeout: 777)
      inside = nil
      producer.middleware.append(lambda do |m|
        if m[:payload] == "suspend"
          inside = producer.current_variant.max_wait_timeout
          Fiber.yield
        end
        m
      end)
      fiber = Fiber.new { variant.produce_sync(topic: topic, payload: "suspend") }
      fiber.resume
      expect(inside).to eq(777)
      # The variant call is suspended in `fiber`; this fiber is not affected.
      expect(producer.current_variant).to be_default
      expect(Thread.current[:waterdrop_fd_variants]).to be_nil
      expect(producer.produce_sync(topic: topic, payload: "main").offset).to eq(0)
      report = fiber.resume
      expect(report.offset).to eq(1)
      expect(producer.current_variant).to be_default
    end

    it "is not seen by a fiber started inside a variant call" do
      seen = {}
      producer.middleware.append(lambda do |m|
        seen[:outer] = producer.current_variant.max_wait_timeout
        seen[:child] = Fiber.new { producer.current_variant.max_wait_timeout }.resume
        seen[:thread] = Thread.new { producer.current_variant.max_wait_timeout }.value
        m
      end)
      producer.with(max_wait_timeout: 555).produce_async(topic: topic, payload: "x").wait
      expect(seen).to eq(outer: 555, child: 180_000, thread: 180_000)
    end

    it "restores the outer variant after a nested variant call" do
      outer = producer.with(max_wait_timeout: 1_111)
      inner = producer.with(max_wait_timeout: 2_222)
      seen = []
      producer.middleware.append(lambda do |m|
        seen << producer.current_variant.max_wait_timeout
        if m[:payload] == "outer"
          inner.produce_sync(topic: topic, payload: "inner")
          seen << producer.current_variant.max_wait_timeout
        end
        m
      end)
      outer.produce_sync(topic: topic, payload: "outer")
      expect(seen).to eq([1_111, 2_222, 1_111])
      expect(Thread.current[:waterdrop_fd_variants]).to be_nil
    end

    it "keeps variants of two producers apart" do
      other = build_producer
      seen = []
      [producer, other].each do |p|
        p.middleware.append(->(m) { seen << [p.equal?(producer), p.current_variant.max_wait_timeout] and m })
      end
      producer.middleware.append(lambda do |m|
        other.produce_sync(topic: topic, payload: "other") if m[:payload] == "first"
        m
      end)
      producer.with(max_wait_timeout: 3_000).produce_sync(topic: topic, payload: "first")
      expect(seen).to eq([[true, 3_000], [false, 180_000]])
    end

    it "works for every produce method" do
      variant = producer.with(max_wait_timeout: 9_000)
      seen = []
      producer.middleware.append(->(m) { seen << producer.current_variant.max_wait_timeout and m })
      variant.produce_sync(topic: topic, payload: "1")
      variant.produce_async(topic: topic, payload: "2").wait
      variant.produce_many_sync([{ topic: topic, payload: "3" }])
      variant.produce_many_async([{ topic: topic, payload: "4" }]).each(&:wait)
      expect(seen).to eq([9_000] * 4)
    end
  end

  it "raises ProducerClosedError from #with on a closed producer" do
    producer.close
    expect { producer.with(max_wait_timeout: 1) }.to raise_error(WaterDrop::Errors::ProducerClosedError, producer.id)
  end
end
