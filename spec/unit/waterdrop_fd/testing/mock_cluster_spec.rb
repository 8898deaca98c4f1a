# frozen_string_literal: true

require "spec_helper"
require "open3"

RSpec.describe WaterdropFd::Testing::MockCluster do
  subject(:cluster) { described_class.new(brokers: 3) }

  after { cluster.close }

  def producer_for(cluster, **kafka)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": cluster.bootstrap_servers }.merge(kafka)
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  def kcat(*args, input: nil)
    out, err, status = Open3.capture3("kcat", "-b", cluster.bootstrap_servers, *args, stdin_data: input)
    raise "kcat #{args.join(" ")} failed: #{err}" unless status.success?

    out
  end

  describe ".new" do
    it "lists one loopback bootstrap address per broker" do
      addresses = cluster.bootstrap_servers.split(",")
      expect(addresses.size).to eq(3)
      expect(addresses).to all(match(/\A127\.0\.0\.1:\d+\z/))
    end

    it "rejects a broker count out of range with ArgumentError" do
      expect { described_class.new(brokers: 0) }
        .to raise_error(ArgumentError, "brokers must be between 1 and 64, got 0")
    end

    it "rejects a non-Integer broker count" do
      expect { described_class.new(brokers: "3") }
        .to raise_error(ArgumentError, 'brokers must be an Integer, got "3"')
    end
  end

  describe "#create_topic" do
    it "creates a topic whose partitions receive messages at consecutive offsets" do
      cluster.create_topic("orders", partitions: 2)
      producer = producer_for(cluster)
      reports = Array.new(3) { producer.produce_sync(topic: "orders", payload: "o", partition: 1) }
      expect(reports.map(&:partition)).to eq([1, 1, 1])
      expect(reports.map(&:offset)).to eq([0, 1, 2])
    end

    it "rejects a partition count below 1" do
      expect { cluster.create_topic("bad", partitions: 0) }
        .to raise_error(ArgumentError, "partitions must be an Integer >= 1, got 0")
    end

    it "rejects a replication factor below 1" do
      expect { cluster.create_topic("bad", partitions: 1, replication_factor: 0) }
        .to raise_error(ArgumentError, "replication_factor must be an Integer >= 1, got 0")
    end
  end

  describe "an external client (kcat)" do
    it "produces to and consumes from the cluster across processes" do
      cluster.create_topic("roundtrip", partitions: 1)
      kcat("-P", "-t", "roundtrip", input: "first\nsecond\n")
      producer = producer_for(cluster)
      report = producer.produce_sync(topic: "roundtrip", payload: "third")
      expect(report.offset).to eq(2)

      out = kcat("-C", "-t", "roundtrip", "-o", "beginning", "-e", "-q", "-f", "%o:%s\n")
      expect(out.lines.map(&:chomp)).to eq(%w[0:first 1:second 2:third])
    end

    it "sees the brokers and topics in metadata" do
      cluster.create_topic("meta", partitions: 4)
      out = kcat("-L", "-t", "meta")
      expect(out).to include("3 brokers:")
      expect(out).to include('topic "meta" with 4 partitions')
    end
  end

  describe "#broker_down / #broker_up" do
    it "makes deliveries fail while every broker is down and succeed once they are back" do
      cluster.create_topic("outage", partitions: 1)
      producer = producer_for(cluster, "message.timeout.ms": 1_500, "reconnect.backoff.ms": 10,
                                       "reconnect.backoff.max.ms": 100)
      producer.produce_sync(topic: "outage", payload: "before")

      (1..3).each { |id| cluster.broker_down(id) }
      handle = producer.produce_async(topic: "outage", payload: "during")
      expect { handle.wait(max_wait_timeout_ms: 10_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:msg_timed_out) }

      (1..3).each { |id| cluster.broker_up(id) }
      expect(producer.produce_sync(topic: "outage", payload: "after").offset).to be >= 1
    end

    it "fails with librdkafka's error for an unknown broker" do
      expect { cluster.broker_down(99) }.to raise_error(WaterdropFd::RdkafkaError)
    end
  end

  describe "#set_rtt" do
    it "delays responses past message.timeout.ms so messages time out" do
      cluster.create_topic("slow", partitions: 1)
      producer = producer_for(cluster, "message.timeout.ms": 300)
      producer.produce_sync(topic: "slow", payload: "warm-up")
      (1..3).each { |id| cluster.set_rtt(id, 2_000) }
      handle = producer.produce_async(topic: "slow", payload: "late")
      expect { handle.wait(max_wait_timeout_ms: 10_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:msg_timed_out) }
    ensure
      (1..3).each { |id| cluster.set_rtt(id, 0) }
    end
  end

  describe "#push_request_errors" do
    it "fails the next Produce request with the pushed broker error" do
      cluster.create_topic("faulty", partitions: 1)
      producer = producer_for(cluster, "retries": 0)
      producer.produce_sync(topic: "faulty", payload: "ok")
      cluster.push_request_errors(0, 10) # Produce -> MESSAGE_TOO_LARGE
      handle = producer.produce_async(topic: "faulty", payload: "rejected")
      expect { handle.wait(max_wait_timeout_ms: 10_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:msg_size_too_large) }
      expect(producer.produce_sync(topic: "faulty", payload: "ok again").offset).to eq(1)
    end

    it "lets retriable errors be retried until the message is delivered" do
      cluster.create_topic("flaky", partitions: 1)
      producer = producer_for(cluster)
      cluster.push_request_errors(0, 6, 6) # NOT_LEADER_OR_FOLLOWER twice
      expect(producer.produce_sync(topic: "flaky", payload: "eventually").offset).to eq(0)
    end
  end

  describe "signals" do
    it "keeps serving while the process receives signals (its thread blocks them)" do
      received = 0
      old = trap("USR2") { received += 1 }
      cluster.create_topic("signals", partitions: 1)
      # A burst from another process: once the main thread has one pending, the kernel
      # hands the next ones to other threads, the cluster's thread included.
      parent = Process.pid
      sender = fork do
        2_000.times { Process.kill("USR2", parent) }
        exit!(0)
      end
      Process.wait(sender)
      wait_until { received.positive? }
      expect { cluster.create_topic("still-there", partitions: 1) }.not_to raise_error
      expect(producer_for(cluster).produce_sync(topic: "still-there", payload: "x").offset).to eq(0)
    ensure
      trap("USR2", old || "DEFAULT")
    end
  end

  describe "#close" do
    it "closes once and then refuses further calls" do
      expect(cluster.close).to be(true)
      expect(cluster.close).to be(false)
      expect(cluster).to be_closed
      expect { cluster.bootstrap_servers }.to raise_error(ArgumentError, "the mock cluster is closed")
    end
  end
end
