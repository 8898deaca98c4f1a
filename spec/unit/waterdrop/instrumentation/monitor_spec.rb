# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Instrumentation::Monitor do
  subject(:monitor) { described_class.new }

  it "passes the payload to block and object listeners; a missing key raises KeyError" do
    seen = []
    monitor.subscribe("error.occurred") { |event| seen << event }
    monitor.instrument("error.occurred", producer_id: "p", error: RuntimeError.new("x"), type: "t")
    event = seen.first
    expect(event.id).to eq("error.occurred")
    expect(event[:type]).to eq("t")
    expect { event[:caller] }.to raise_error(KeyError, /key not found: :caller/)
  end

  it "adds time (ms, Float) only when a block is measured" do
    times = []
    monitor.subscribe("producer.closed") { |event| times << event.payload[:time] }
    expect(monitor.instrument("producer.closed", producer_id: "p") { :result }).to eq(:result)
    monitor.instrument("producer.closed", producer_id: "p")
    expect(times.first).to be_a(Float).and(be >= 0)
    expect(times.last).to be_nil
  end

  it "refuses unknown events" do
    expect { monitor.subscribe("no.such") { nil } }.to raise_error(ArgumentError, /"no.such" is not a known event/)
  end

  describe "#freeze_statistics_listeners!" do
    before { monitor.freeze_statistics_listeners! }

    it "makes a later statistics.emitted subscription raise StatisticsNotEnabledError" do
      expect { monitor.subscribe("statistics.emitted") { nil } }.to raise_error(
        WaterDrop::Errors::StatisticsNotEnabledError,
        /Cannot subscribe to `statistics.emitted` after the producer connected/
      )
      expect(monitor.listening?("statistics.emitted")).to be(false)
      expect(monitor.frozen_event?("statistics.emitted")).to be(true)
    end

    it "refuses a listener object that handles statistics, subscribing none of its handlers" do
      listener = Class.new do
        def on_statistics_emitted(_event) = nil
        def on_error_occurred(_event) = nil
      end.new
      expect { monitor.subscribe(listener) }.to raise_error(WaterDrop::Errors::StatisticsNotEnabledError)
      expect(monitor.listening?("error.occurred")).to be(false)
    end

    it "still accepts every other event" do
      expect { monitor.subscribe("error.occurred") { nil } }.not_to raise_error
      expect { monitor.subscribe(WaterDrop::Instrumentation::LoggerListener.new(Logger.new(nil))) }.not_to raise_error
    end
  end
end
