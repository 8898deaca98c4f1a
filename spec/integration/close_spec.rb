# frozen_string_literal: true

require "spec_helper"

# Closing a producer that shares the poller with others.
RSpec.describe "Closing producers on a shared poller" do
  let(:shared) { WaterDrop::Polling::Poller.instance }

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  after { [1, 2, 3].each { |b| mock_cluster.set_rtt(b, 0) } }

  it "closes from inside a delivery callback without deadlock" do
    topic = mock_topic
    producer = build_producer
    neighbour = build_producer
    neighbour.produce_sync(topic: topic, payload: "neighbour connected")

    in_callback = Queue.new
    producer.monitor.subscribe("message.acknowledged") do |event|
      next unless event[:label] == :close_me

      started = now
      producer.close
      in_callback << { returned_after: now - started, on_poller: shared.in_poller_thread? }
    end

    handle = producer.produce_async(topic: topic, payload: "closing", label: :close_me)
    report = handle.wait(max_wait_timeout_ms: 10_000)
    expect(report.error).to be_nil

    call = Timeout.timeout(10) { in_callback.pop }
    puts "\n  close inside the callback returned after #{(call[:returned_after] * 1000).round(2)} ms"
    expect(call[:on_poller]).to be(true)

    wait_until { producer.status.closed? }
    expect { producer.produce_sync(topic: topic, payload: "late") }
      .to raise_error(WaterDrop::Errors::ProducerClosedError)

    # The poller survived and still serves the other producer.
    expect(neighbour.produce_sync(topic: topic, payload: "after").error).to be_nil
    expect(shared.count).to eq(1)
  end

  it "does not hold up another producer's deliveries while one drains to a slow broker", timeout: 180 do
    slow_topic = mock_topic
    fast_topic = mock_topic
    mock_cluster.partition_set_leader(slow_topic, 0, 1)
    mock_cluster.partition_set_leader(fast_topic, 0, 2)

    closing = build_producer(max_wait_timeout: 60_000)
    other = build_producer(max_wait_timeout: 10_000)
    closing.produce_sync(topic: slow_topic, payload: "connect")
    other.produce_sync(topic: fast_topic, payload: "connect")

    closing_acks = []
    closing.monitor.subscribe("message.acknowledged") { closing_acks << now }

    # The other producer's produce_sync latency with nothing else going on.
    baseline = Array.new(20) do
      started = now
      other.produce_sync(topic: fast_topic, payload: "baseline")
      now - started
    end

    mock_cluster.set_rtt(1, 1_000)
    in_flight = 10_000
    handles = Array.new(in_flight) { |i| closing.produce_async(topic: slow_topic, payload: "slow-#{i}") }

    close_started = now
    closer = Thread.new { closing.close }
    latencies = []
    while closer.alive?
      started = now
      report = other.produce_sync(topic: fast_topic, payload: "while closing")
      latencies << (now - started)
      expect(report.error).to be_nil
    end
    closer.join
    close_time = now - close_started

    # The poller's share of the close: serving the slow producer's delivery reports.
    drain = closing_acks.empty? ? 0 : closing_acks.max - closing_acks.min
    puts "\n  close of a producer with #{in_flight} in flight: #{close_time.round(2)} s " \
         "(its delivery reports served over #{(drain * 1000).round(1)} ms); other producer's produce_sync " \
         "while it closed: #{latencies.size} calls, max #{(latencies.max * 1000).round(1)} ms " \
         "(baseline max #{(baseline.max * 1000).round(1)} ms)"

    expect(closing.status.closed?).to be(true)
    expect(handles.count(&:pending?)).to eq(0)
    expect(handles.map(&:error_code).uniq).to eq([0])
    expect(closing_acks.size).to eq(in_flight)
    expect(close_time).to be >= 0.5 # it really had to wait for the slow broker
    expect(latencies.size).to be > 3 # the other producer kept going during the close
    # Delayed at most by the slow producer's drain (plus its own normal latency), never by
    # the whole close.
    expect(latencies.max).to be < drain + (baseline.max * 3) + 0.1
    expect(latencies.max).to be < close_time / 2
    expect(shared.count).to eq(1)
  end
end
