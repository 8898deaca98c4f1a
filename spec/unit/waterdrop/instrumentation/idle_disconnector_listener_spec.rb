# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Instrumentation::IdleDisconnectorListener do
  subject(:listener) { described_class.new(producer, disconnect_timeout: 1_000) }

  # Stands in for a producer: records disconnects (from which thread) and can fail them.
  let(:producer_class) do
    Class.new do
      attr_reader :monitor, :disconnect_threads
      attr_accessor :disconnectable, :failure

      def initialize
        @monitor = WaterDrop::Instrumentation::Monitor.new
        @disconnect_threads = Queue.new
        @disconnectable = true
      end

      def id = "idle-spec"
      def disconnectable? = @disconnectable

      def disconnect
        @disconnect_threads << Thread.current
        raise failure if failure

        disconnectable
      end
    end
  end
  let(:producer) { producer_class.new }

  def emit(txmsgs, at_ms, producer_id: producer.id)
    allow(listener).to receive(:now_ms).and_return(at_ms)
    stats = txmsgs.nil? ? {} : { "txmsgs" => txmsgs }
    listener.on_statistics_emitted(
      WaterDrop::Instrumentation::Event.new("statistics.emitted", producer_id: producer_id, statistics: stats)
    )
  end

  def disconnect_thread(timeout = 5)
    Timeout.timeout(timeout) { producer.disconnect_threads.pop }
  end

  it "disconnects on a background thread once txmsgs stayed the same for the timeout" do
    emit(3, 10_000)
    emit(3, 10_500)
    expect(producer.disconnect_threads).to be_empty
    emit(3, 11_000)
    thread = disconnect_thread
    expect(thread).not_to equal(Thread.current)
  end

  it "counts the first statistics and every change of txmsgs as activity" do
    emit(0, 10_000)
    emit(5, 10_900)
    emit(5, 11_800)
    emit(6, 12_700)
    emit(6, 13_600)
    expect(producer.disconnect_threads).to be_empty
    emit(6, 13_700)
    disconnect_thread
  end

  it "treats missing txmsgs as 0" do
    emit(nil, 10_000)
    emit(nil, 11_000)
    disconnect_thread
  end

  it "waits a full timeout again after a try that found the producer busy" do
    producer.disconnectable = false
    emit(1, 10_000)
    emit(1, 11_000)
    disconnect_thread
    producer.disconnectable = true
    emit(1, 11_500)
    emit(1, 11_900)
    expect(producer.disconnect_threads).to be_empty
    emit(1, 12_000)
    disconnect_thread
  end

  it "never asks disconnectable? on the statistics thread (the producer says false on the poller thread)" do
    allow(producer).to receive(:disconnectable?).and_raise("must not be called")
    emit(1, 10_000)
    emit(1, 11_000)
    disconnect_thread
  end

  it "ignores statistics of other producers sharing the monitor" do
    emit(1, 10_000)
    emit(1, 20_000, producer_id: "someone-else")
    expect(producer.disconnect_threads).to be_empty
  end

  it "reports a failed disconnect as error.occurred of type producer.disconnect.error" do
    errors = Queue.new
    producer.monitor.subscribe("error.occurred") { |event| errors << event }
    producer.failure = WaterDrop::Errors::StatusInvalidError.new("nope")
    emit(1, 10_000)
    emit(1, 11_000)
    event = Timeout.timeout(5) { errors.pop }
    expect(event.payload.keys).to contain_exactly(:producer_id, :error, :type)
    expect(event[:producer_id]).to eq("idle-spec")
    expect(event[:type]).to eq("producer.disconnect.error")
    expect(event[:error]).to be_a(WaterDrop::Errors::StatusInvalidError).and(have_attributes(message: "nope"))
  end

  describe "config.idle_disconnect_timeout" do
    def build(timeout)
      WaterDrop::Producer.new do |config|
        config.kafka = { "bootstrap.servers": "127.0.0.1:1" }
        config.idle_disconnect_timeout = timeout
      end
    end

    it "subscribes a listener with that timeout to the producer's statistics" do
      producer = build(30_000)
      subscribed = producer.monitor.listeners["statistics.emitted"]
      expect(subscribed.size).to eq(1)
      expect(subscribed.first).to be_a(described_class).and(have_attributes(disconnect_timeout: 30_000))
    end

    it "subscribes nothing when 0 (the default)" do
      expect(build(0).monitor.listening?("statistics.emitted")).to be(false)
    end

    it "rejects values between 0 and 30 000" do
      expect { build(10_000) }.to raise_error(
        WaterDrop::Errors::ConfigurationInvalidError, /idle_disconnect_timeout/
      )
    end
  end
end
