# frozen_string_literal: true

require "spec_helper"
require "socket"
require "waterdrop/instrumentation/vendors/datadog/metrics_listener"

# The listener with a DogStatsD-style client that sends real UDP datagrams in DogStatsD
# line format (`name:value|type|#tag,tag`), read back from a socket.
RSpec.describe WaterDrop::Instrumentation::Vendors::Datadog::MetricsListener do
  # The smallest client with dogstatsd-ruby's method shapes.
  let(:statsd_client_class) do
    Class.new do
      def initialize(port)
        @socket = UDPSocket.new
        @socket.connect("127.0.0.1", port)
      end

      def count(name, value, tags: []) = datagram(name, value, "c", tags)
      def increment(name, tags: []) = datagram(name, 1, "c", tags)
      def decrement(name, tags: []) = datagram(name, -1, "c", tags)
      def gauge(name, value, tags: []) = datagram(name, value, "g", tags)
      def histogram(name, value, tags: []) = datagram(name, value, "h", tags)

      def close = @socket.close

      private

      def datagram(name, value, type, tags)
        @socket.send("#{name}:#{value}|#{type}#{"|##{tags.join(",")}" unless tags.empty?}", 0)
      end
    end
  end
  let(:server) { UDPSocket.new.tap { |s| s.bind("127.0.0.1", 0) } }
  let(:client) { statsd_client_class.new(server.addr[1]) }
  let(:received) { [] }
  let(:topic) { mock_topic(partitions: 1) }

  after do
    # Producers first: their statistics must not reach a closed socket.
    @producers_to_close&.each(&:close)
    client.close
    server.close
  end

  # Reads datagrams until `pattern` matched one (or fails after `timeout` seconds).
  def receive_until(pattern, timeout: 10)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until received.any? { |line| pattern.match?(line) }
      left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      raise "no datagram matched #{pattern.inspect} in #{timeout}s; got #{received.inspect}" if left <= 0

      received << server.recvfrom(65_535).first if server.wait_readable(left)
    end
    received
  end

  it "has WaterDrop's settings and defaults" do
    listener = described_class.new
    expect(listener.namespace).to eq("waterdrop")
    expect(listener.default_tags).to eq([])
    expect(listener.client).to be_nil
    expect(listener.rd_kafka_metrics.map { |m| [m.type, m.scope, m.name, m.key_location] }).to eq(
      [
        [:count, :root, "calls", "tx_d"],
        [:histogram, :root, "queue.size", "msg_cnt"],
        [:count, :brokers, "deliver.attempts", "txretries_d"],
        [:count, :brokers, "deliver.errors", "txerrs_d"],
        [:count, :brokers, "receive.errors", "rxerrs_d"],
        [:gauge, :brokers, "queue.latency.avg", %w[outbuf_latency avg]],
        [:gauge, :brokers, "queue.latency.p95", %w[outbuf_latency p95]],
        [:gauge, :brokers, "queue.latency.p99", %w[outbuf_latency p99]],
        [:gauge, :brokers, "network.latency.avg", %w[rtt avg]],
        [:gauge, :brokers, "network.latency.p95", %w[rtt p95]],
        [:gauge, :brokers, "network.latency.p99", %w[rtt p99]]
      ]
    )
    listener.setup { |config| config.namespace = "app" }
    expect(listener.config.namespace).to eq("app")
  end

  it "sends a producer's events and librdkafka statistics as DogStatsD datagrams" do
    udp = client
    listener = described_class.new do |config|
      config.client = udp
      config.default_tags = ["env:test"]
    end
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    producer.monitor.subscribe(listener)

    producer.produce_sync(topic: topic, payload: "one")
    producer.produce_async(topic: topic, payload: "two").wait
    producer.produce_many_sync([{ topic: topic, payload: "three" }, { topic: topic, payload: "four" }])
    producer.buffer(topic: topic, payload: "five")
    producer.flush_sync
    expect { producer.produce_sync(topic: topic, payload: "x", partition: 7) }.to raise_error(WaterDrop::Errors::ProduceError)

    # Statistics arrive on the poller thread whenever they are due, maybe before the rest.
    [/\Awaterdrop\.flushed_sync:/, /\Awaterdrop\.error_occurred:/, /\Awaterdrop\.calls:/,
     /\Awaterdrop\.network\.latency\.p99:/].each { |pattern| receive_until(pattern) }
    lines = received

    expect(lines.count("waterdrop.produced_sync:1|c|#env:test,topic:#{topic}")).to eq(4) # produce_sync, produce_many_sync (2), flush_sync
    expect(lines.count("waterdrop.produced_async:1|c|#env:test,topic:#{topic}")).to eq(1)
    expect(lines.count("waterdrop.flushed_sync:1|c|#env:test,topic:#{topic}")).to eq(1)
    expect(lines).to include("waterdrop.buffer.size:1|h|#env:test")
    expect(lines.count("waterdrop.acknowledged:1|c|#env:test")).to eq(5)
    expect(lines).to include("waterdrop.error_occurred:1|c|#env:test")
    expect(lines.grep(/\Awaterdrop\.calls:/)).to all(match(/\Awaterdrop\.calls:\d+\|c\|#env:test\z/))
    expect(lines.grep(/\Awaterdrop\.queue\.size:/)).to all(match(/\Awaterdrop\.queue\.size:\d+\|h\|#env:test\z/))
    brokers = lines.grep(/\Awaterdrop\.network\.latency\.p99:/)
    expect(brokers).to all(match(/\Awaterdrop\.network\.latency\.p99:\d+\|g\|#env:test,broker:127\.0\.0\.1:\d+\z/))
    %w[deliver.attempts deliver.errors receive.errors].each do |name|
      expect(lines.grep(/\Awaterdrop\.#{Regexp.escape(name)}:/)).to all(match(/:\d+\|c\|#env:test,broker:/))
    end
  end

  it "skips bootstrap entries (nodeid -1), publishes per-topic statistics and refuses an unknown scope" do
    udp = client
    listener = described_class.new do |config|
      config.client = udp
      config.namespace = "kafka"
      config.rd_kafka_metrics = [
        WaterDrop::Instrumentation::Vendors::Datadog::RdKafkaMetric.new(:gauge, :topics, "age", "age"),
        WaterDrop::Instrumentation::Vendors::Datadog::RdKafkaMetric.new(:decrement, :root, "down", "unused")
      ]
      config.rd_kafka_metrics << WaterDrop::Instrumentation::Vendors::Datadog::Settings::DEFAULT_RD_KAFKA_METRICS[4]
    end
    statistics = {
      "topics" => { "a" => { "topic" => "a", "age" => 12 }, "b" => { "topic" => "b", "age" => 7 } },
      "brokers" => {
        "h:1/bootstrap" => { "nodeid" => -1, "nodename" => "h:1", "rxerrs_d" => 5 },
        "h:1/1" => { "nodeid" => 1, "nodename" => "h:1", "rxerrs_d" => 2 }
      }
    }
    listener.on_statistics_emitted(WaterDrop::Instrumentation::Event.new("statistics.emitted", statistics: statistics))
    receive_until(/receive\.errors/)
    expect(received.sort).to eq(
      ["kafka.age:12|g|#topic:a", "kafka.age:7|g|#topic:b", "kafka.down:-1|c", "kafka.receive.errors:2|c|#broker:h:1"]
    )

    listener.config.rd_kafka_metrics = [
      WaterDrop::Instrumentation::Vendors::Datadog::RdKafkaMetric.new(:gauge, :partitions, "x", "x")
    ]
    expect do
      listener.on_statistics_emitted(WaterDrop::Instrumentation::Event.new("statistics.emitted", statistics: {}))
    end.to raise_error(ArgumentError, "unknown RdKafkaMetric scope :partitions (known: :root, :brokers, :topics)")
  end
end
