# frozen_string_literal: true

require "spec_helper"

# statistics.emitted against the mock cluster: enabled only when somebody listens at
# connect time, decorated, and flowing for idle producers.
RSpec.describe "statistics.emitted" do
  let(:topic) { mock_topic }

  def collect_statistics(producer)
    queue = Queue.new
    producer.monitor.subscribe("statistics.emitted") { |event| queue << event }
    queue
  end

  def pop(queue, timeout: 10)
    Timeout.timeout(timeout) { queue.pop }
  end

  # The settings the native client was built with, captured from Native::Producer.new.
  def capture_native_settings
    captured = []
    allow(WaterdropFd::Native::Producer).to receive(:new).and_wrap_original do |original, pairs, *rest|
      captured << [pairs.to_h, *rest]
      original.call(pairs, *rest)
    end
    captured
  end

  it "carries producer_id and librdkafka's statistics of this producer, decorated" do
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    queue = collect_statistics(producer)
    producer.produce_sync(topic: topic, payload: "x")
    first = pop(queue)
    expect(first.payload.keys).to contain_exactly(:producer_id, :statistics)
    expect(first[:producer_id]).to eq(producer.id)
    stats = first[:statistics]
    expect(stats).to be_a(Hash).and(be_frozen)
    expect(stats["name"]).to eq(producer.native_client.name)
    expect(stats["type"]).to eq("producer")
    expect(stats).to include("tx_d", "tx_fd")
    broker = stats["brokers"].values.first
    expect(broker).to include("tx_d", "tx_fd", "txretries_d", "txretries_fd", "txerrs_d", "rxerrs_fd")
    expect(broker["rtt"]).not_to have_key("avg_d")
    expect(stats).not_to have_key("txmsgs_d")
  end

  it "shows sending as a positive tx_d on the next statistics" do
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    queue = collect_statistics(producer)
    producer.produce_sync(topic: topic, payload: "warm-up")
    pop(queue)
    pop(queue) # a full interval after the warm-up
    producer.produce_many_sync(Array.new(20) { |i| { topic: topic, payload: i.to_s } })
    deltas = []
    Timeout.timeout(10) do
      loop do
        deltas << pop(queue)[:statistics]["tx_d"]
        break if deltas.sum.positive?
      end
    end
    expect(deltas.sum).to be > 0
  end

  it "keeps flowing for a producer that sends nothing" do
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    queue = collect_statistics(producer)
    producer.native_client # connect, produce nothing
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    events = Array.new(5) { pop(queue, timeout: 5) }
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    expect(events.map { |e| e[:statistics]["txmsgs"] }).to all(eq(0))
    expect(elapsed).to be < 3 # five 100 ms intervals, with a generous margin
    expect(events.last[:statistics]["tx_fd"]).to be > 0
  end

  it "is switched off in librdkafka when nobody listens at connect, and later subscriptions raise" do
    captured = capture_native_settings
    producer = build_producer
    producer.produce_sync(topic: topic, payload: "x")
    expect(captured.last.first).to include("statistics.interval.ms" => "0")
    expect(producer.config.kafka[:"statistics.interval.ms"]).to eq(5_000) # the config is untouched
    expect { producer.monitor.subscribe("statistics.emitted") { nil } }.to raise_error(
      WaterDrop::Errors::StatisticsNotEnabledError, /Subscribe before the first use of the producer/
    )
  end

  it "is switched off when the user set statistics.interval.ms to 0, even with a listener" do
    captured = capture_native_settings
    producer = build_producer(kafka: { "statistics.interval.ms": 0 })
    queue = collect_statistics(producer)
    producer.produce_sync(topic: topic, payload: "x")
    expect(captured.last.first).to include("statistics.interval.ms" => "0")
    expect { producer.monitor.subscribe("statistics.emitted") { nil } }
      .to raise_error(WaterDrop::Errors::StatisticsNotEnabledError)
    sleep 0.3
    expect(queue).to be_empty
  end

  it "keeps the user's interval when somebody listens" do
    captured = capture_native_settings
    producer = build_producer(kafka: { "statistics.interval.ms": 250 })
    collect_statistics(producer)
    producer.native_client
    expect(captured.last.first).to include("statistics.interval.ms" => "250")
  end

  it "stops instrumenting when the last listener leaves" do
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    seen = Queue.new
    listener = ->(event) { seen << event }
    producer.monitor.subscribe("statistics.emitted", &listener)
    producer.native_client
    pop(seen)
    producer.monitor.unsubscribe(listener)
    sleep 0.15
    seen.clear
    sleep 0.3
    expect(seen).to be_empty
  end

  it "uses config.statistics_decorator" do
    decorator = Class.new do
      def call(stats) = stats.merge("decorated_by_spec" => true)
    end.new
    producer = build_producer(kafka: { "statistics.interval.ms": 100 }, statistics_decorator: decorator)
    queue = collect_statistics(producer)
    producer.native_client
    expect(pop(queue)[:statistics]).to include("decorated_by_spec" => true)
  end

  it "reports a raising statistics listener as callbacks.statistics.error and keeps going" do
    producer = build_producer(kafka: { "statistics.interval.ms": 100 })
    errors = Queue.new
    producer.monitor.subscribe("error.occurred") { |event| errors << event }
    calls = 0
    producer.monitor.subscribe("statistics.emitted") do
      calls += 1
      raise ArgumentError, "statistics listener failed"
    end
    producer.native_client
    events = Array.new(2) { pop(errors) }
    expect(events.map { |e| e[:type] }).to all(eq("callbacks.statistics.error"))
    event = events.first
    expect(event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
    expect(event[:producer_id]).to eq(producer.id)
    expect(event[:caller]).to be_a(WaterdropFd::Dispatcher)
    expect(event[:error]).to be_a(ArgumentError).and(have_attributes(message: "statistics listener failed"))
    expect(calls).to be >= 2
    expect(producer.produce_sync(topic: topic, payload: "still works").error).to be_nil
  end
end
