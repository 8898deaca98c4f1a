# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Instrumentation::ClassMonitor do
  subject(:monitor) { described_class.new }

  describe "WaterDrop.monitor" do
    it "is one ClassMonitor for the process, also reachable as WaterDrop.instrumentation" do
      expect(WaterDrop.monitor).to be_a(described_class)
      expect(WaterDrop.monitor).to equal(WaterDrop.monitor)
      expect(WaterDrop.instrumentation).to equal(WaterDrop.monitor)
    end
  end

  it "accepts every class-level event" do
    WaterDrop::Instrumentation::CLASS_EVENTS.each do |event|
      expect { monitor.subscribe(event) { nil } }.not_to raise_error
    end
  end

  it "refuses per-producer events with the event name in the message" do
    expect { monitor.subscribe("message.produced_sync") { nil } }
      .to raise_error(ArgumentError, /"message.produced_sync" is not a known event/)
    expect { monitor.instrument("statistics.emitted", producer_id: "x") }
      .to raise_error(ArgumentError, /"statistics.emitted" is not a known event/)
  end

  it "gives listener objects the class events they answer" do
    listener = Class.new do
      attr_reader :seen

      def on_producer_created(event) = (@seen ||= []) << event.id
    end.new
    monitor.subscribe(listener)
    monitor.instrument("producer.created", producer: :p, producer_id: nil)
    expect(listener.seen).to eq(["producer.created"])
  end

  context "with producers being built" do
    let(:events) { [] }
    let(:listener) { ->(event) { events << event } }

    before do
      WaterDrop.monitor.subscribe("producer.created", &listener)
      WaterDrop.monitor.subscribe("producer.configured", &listener)
    end

    after { WaterDrop.monitor.unsubscribe(listener) }

    it "instruments producer.created with the producer and a nil producer_id (not configured yet)" do
      producer = WaterDrop::Producer.new
      expect(events.map(&:id)).to eq(["producer.created"])
      event = events.first
      expect(event.payload.keys).to contain_exactly(:producer, :producer_id)
      expect(event[:producer]).to equal(producer)
      expect(event[:producer_id]).to be_nil
      expect(producer.status).to be_initial
    end

    it "instruments producer.configured after setup, with producer, its id and its config" do
      producer = WaterDrop::Producer.new
      producer.setup do |config|
        config.id = "class-monitor-spec"
        config.kafka = { "bootstrap.servers": "127.0.0.1:1" }
      end
      configured = events.find { |e| e.id == "producer.configured" }
      expect(configured.payload.keys).to contain_exactly(:producer, :producer_id, :config)
      expect(configured[:producer]).to equal(producer)
      expect(configured[:producer_id]).to eq("class-monitor-spec")
      expect(configured[:config]).to equal(producer.config)
      expect(producer.status).to be_configured
    ensure
      producer&.close
    end

    it "instruments both, in order, for Producer.new with a block" do
      producer = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": "127.0.0.1:1" } }
      expect(events.map(&:id)).to eq(%w[producer.created producer.configured])
      expect(events.map { |e| e[:producer] }).to all(equal(producer))
    ensure
      producer&.close
    end

    it "lets a listener change the producer before it is used (e.g. add middleware)" do
      WaterDrop.monitor.unsubscribe(listener)
      step = ->(message) { message.merge(key: "added") }
      hook = ->(event) { event[:producer].middleware.append(step) }
      WaterDrop.monitor.subscribe("producer.configured", &hook)
      producer = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": "127.0.0.1:1" } }
      expect(producer.middleware.run({ topic: "t", payload: nil })).to include(key: "added")
    ensure
      WaterDrop.monitor.unsubscribe(hook) if hook
      producer&.close
    end

    it "raises KeyError for a key the payload does not have" do
      WaterDrop::Producer.new
      expect { events.first[:config] }.to raise_error(KeyError, /key not found: :config/)
    end
  end

  it "does not instrument producer.configured when setup fails validation" do
    events = []
    listener = ->(event) { events << event.id }
    WaterDrop.monitor.subscribe("producer.configured", &listener)
    expect { WaterDrop::Producer.new { |c| c.kafka = {} } }
      .to raise_error(WaterDrop::Errors::ConfigurationInvalidError)
    expect(events).to be_empty
  ensure
    WaterDrop.monitor.unsubscribe(listener)
  end
end
