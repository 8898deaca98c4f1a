# frozen_string_literal: true

require "spec_helper"

# Per-process state after fork: a child starts with nothing the parent's threads were doing
# (operations in flight, pollers, clients), and every message the child cannot deliver is
# reported. Each scenario runs in its own process, bounded in time.
RSpec.describe "Per-process state across fork", timeout: 300 do
  before(:all) do
    @cluster = ExternalMockCluster.start(brokers: 1, topics: { "epoch" => 1 })
  end

  after(:all) { @cluster&.stop }

  let(:servers) { @cluster.bootstrap_servers }

  def make_producer(**kafka)
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers }.merge(kafka)
      config.max_wait_timeout = 5_000
      config.logger = Logger.new(File::NULL)
    end
  end

  it "closes in a child forked while a parent thread was inside a dispatch (queue-full back-off)" do
    pid = fork_child do
      producer = make_producer("queue.buffering.max.messages": 1, "linger.ms": 1_000)
      inside = Queue.new
      release = Queue.new
      producer.monitor.subscribe("error.occurred") do |event|
        next unless event[:type] == "message.produce_async" && Thread.current[:epoch_blocker]

        inside << true
        release.pop
      end
      producer.produce_async(topic: "epoch", payload: "fills librdkafka's queue")
      blocker = Thread.new do
        Thread.current[:epoch_blocker] = true
        producer.produce_async(topic: "epoch", payload: "waits for room")
      end
      inside.pop # the blocker is inside the dispatch now, counted as an operation in progress

      child = fork_child do
        delivered = producer.produce_sync(topic: "epoch", payload: "from the child").offset >= 0
        producer.close
        delivered && producer.status.closed?
      end
      statuses = wait_children([child], timeout: 20)
      release << true
      blocker.join
      producer.close
      warn "child of a parent inside a dispatch: exit status #{statuses.values.inspect}"
      statuses.values == [0]
    end
    expect(wait_children([pid], timeout: 90).values).to eq([0])
  end

  it "reports every inherited in-flight message a child abandons as error.occurred, with its label" do
    pid = fork_child do
      producer = make_producer("linger.ms": 10_000)
      producer.client # connects
      errors = []
      producer.monitor.subscribe("error.occurred") { |event| errors << event }
      inherited = Array.new(3) { |i| producer.produce_async(topic: "epoch", payload: "p#{i}", label: "parent-#{i}") }

      child = fork_child do
        producer.config.kafka[:"linger.ms"] = 0 # read when the child reconnects
        own = producer.produce_sync(topic: "epoch", payload: "from the child", label: "child")
        reported = errors.select { |e| e[:type] == "librdkafka.dispatch_error" }
        labels = reported.map { |e| e[:label] }.sort
        error = reported.first && reported.first[:error]
        warn "abandoned after fork: #{reported.map { |e| [e[:label], e[:error].class, e[:error].message] }.inspect}"
        own.offset >= 0 &&
          labels == %w[parent-0 parent-1 parent-2] &&
          error.is_a?(WaterdropFd::RdkafkaError) && error.code == :destroy &&
          error.message.include?("fork") &&
          reported.all? { |e| e[:delivery_report].error == -197 && e[:delivery_report].label == e[:label] } &&
          inherited.none?(&:pending?) &&
          errors.none? { |e| e[:label] == "child" }
      end
      statuses = wait_children([child], timeout: 30)
      producer.close
      parent_ok = inherited.all? { |h| h.wait.offset >= 0 } && errors.empty?
      statuses.values == [0] && parent_ok
    end
    expect(wait_children([pid], timeout: 90).values).to eq([0])
  end

  it "reports every message that close gave up on (client destroyed undelivered) as error.occurred, with its label" do
    pid = fork_child do
      producer = WaterDrop::Producer.new do |config|
        # Nothing listens there: the messages stay queued until close gives up.
        config.kafka = { "bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300_000 }
        config.max_wait_timeout = 300
        config.logger = Logger.new(File::NULL)
      end
      errors = []
      producer.monitor.subscribe("error.occurred") { |event| errors << event }
      handles = Array.new(2) { |i| producer.produce_async(topic: "epoch", payload: "u#{i}", label: "undelivered-#{i}") }
      producer.close
      reported = errors.select { |e| e[:type] == "librdkafka.dispatch_error" }
      warn "undelivered at close: #{reported.map { |e| [e[:label], e[:error].class, e[:error].message] }.inspect}"
      error = reported.first && reported.first[:error]
      reported.map { |e| e[:label] }.sort == %w[undelivered-0 undelivered-1] &&
        error.is_a?(WaterdropFd::RdkafkaError) && error.code == :destroy &&
        error.message.include?("closed") &&
        handles.none?(&:pending?)
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
  end
end
