# frozen_string_literal: true

require "spec_helper"
require "active_support"
require "active_support/notifications"

RSpec.describe "WaterDrop::Instrumentation::Monitor with a notifications bus" do
  let(:topic) { mock_topic(partitions: 1) }

  it "names every event in Notifications::EVENTS and ClassNotifications::EVENTS" do
    expect(WaterDrop::Instrumentation::Notifications::EVENTS).to include(
      "message.produced_sync", "message.acknowledged", "error.occurred", "statistics.emitted", "producer.closed"
    )
    expect(WaterDrop::Instrumentation::Notifications::EVENTS).to equal(WaterDrop::Instrumentation::EVENTS)
    expect(WaterDrop::Instrumentation::ClassNotifications::EVENTS).to include("producer.created", "connection_pool.setup")
    expect(WaterDrop::Instrumentation::Notifications.new.events).to equal(WaterDrop::Instrumentation::Notifications::EVENTS)
  end

  context "with ActiveSupport::Notifications" do
    let(:received) { [] }
    let!(:subscription) do
      list = received
      ActiveSupport::Notifications.subscribe(/\.waterdrop\z/) do |name, started, finished, _id, payload|
        list << [name, payload, finished - started]
      end
    end

    after { ActiveSupport::Notifications.unsubscribe(subscription) }

    it "publishes the producer's events there, namespaced, beside the monitor's own listeners" do
      monitor = WaterDrop::Instrumentation::Monitor.new(ActiveSupport::Notifications, "waterdrop")
      own = []
      monitor.subscribe("message.acknowledged") { |event| own << event[:offset] }
      producer = build_producer(monitor: monitor)

      report = producer.produce_sync(topic: topic, payload: "to the bus")
      producer.produce_async(topic: topic, payload: "async").wait
      producer.close

      names = received.map(&:first)
      expect(names).to include(
        "producer.connected.waterdrop", "message.produced_sync.waterdrop", "message.produced_async.waterdrop",
        "producer.closing.waterdrop", "producer.closed.waterdrop"
      )
      expect(names.count("message.acknowledged.waterdrop")).to eq(2)
      sync = received.find { |name, *| name == "message.produced_sync.waterdrop" }
      expect(sync[1]).to include(producer_id: producer.id, message: { topic: topic, payload: "to the bus" })
      expect(sync[2]).to be >= 0
      acknowledged = received.select { |name, *| name == "message.acknowledged.waterdrop" }.map { |_, payload, _| payload }
      expect(acknowledged.first).to include(producer_id: producer.id, topic: topic, partition: 0, offset: report.offset)
      expect(own.sort).to eq([report.offset, report.offset + 1])
    end

    it "keeps publishing events without a namespace under their own names" do
      plain = []
      sub = ActiveSupport::Notifications.subscribe("producer.connected") { |name, *| plain << name }
      producer = build_producer(monitor: WaterDrop::Instrumentation::Monitor.new(ActiveSupport::Notifications))
      producer.produce_sync(topic: topic, payload: "x")
      expect(plain).to eq(["producer.connected"])
    ensure
      ActiveSupport::Notifications.unsubscribe(sub)
    end
  end

  it "publishes to any object answering #instrument(name, payload)" do
    bus = Class.new do
      attr_reader :seen

      def initialize = @seen = []

      def instrument(name, payload)
        @seen << [name, payload.keys.sort]
        yield if block_given?
      end
    end.new
    producer = build_producer(monitor: WaterDrop::Instrumentation::Monitor.new(bus, :app))
    producer.produce_sync(topic: topic, payload: "x")

    expect(bus.seen).to include(
      ["message.produced_sync.app", %i[message producer_id]],
      ["message.acknowledged.app", %i[caller delivery_report label offset partition producer_id topic]]
    )
  end

  it "refuses unknown events and a namespace without a bus" do
    monitor = WaterDrop::Instrumentation::Monitor.new(ActiveSupport::Notifications, "waterdrop")
    expect { monitor.instrument("message.nope", {}) }.to raise_error(ArgumentError, /"message.nope" is not a known event/)
    expect { WaterDrop::Instrumentation::Monitor.new(nil, "waterdrop") }.to raise_error(
      ArgumentError, 'a namespace ("waterdrop") is only used with a notifications bus'
    )
  end

  # The native delivery gate: successful deliveries reach Ruby only when somebody may listen.
  describe "delivery notifications" do
    def successful_deliveries_seen(monitor)
      seen = 0
      allow_any_instance_of(WaterdropFd::Dispatcher).to receive(:delivered).and_wrap_original do |original, handle|
        seen += 1 if handle.error_code.zero?
        original.call(handle)
      end
      producer = build_producer(monitor: monitor)
      3.times { producer.produce_sync(topic: topic, payload: "gate") }
      producer.close
      seen
    end

    it "stay off with the default monitor and nobody listening" do
      expect(successful_deliveries_seen(WaterDrop::Instrumentation::Monitor.new)).to eq(0)
    end

    it "are on with a bus that cannot say who listens" do
      expect(successful_deliveries_seen(WaterDrop::Instrumentation::Monitor.new(ActiveSupport::Notifications))).to eq(3)
    end

    it "follow a Notifications bus's listeners" do
      bus = WaterDrop::Instrumentation::Notifications.new
      expect(successful_deliveries_seen(WaterDrop::Instrumentation::Monitor.new(bus))).to eq(0)
      bus.subscribe("message.acknowledged") { nil }
      expect(successful_deliveries_seen(WaterDrop::Instrumentation::Monitor.new(bus))).to eq(3)
    end
  end
end
