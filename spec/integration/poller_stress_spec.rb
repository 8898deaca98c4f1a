# frozen_string_literal: true

require "spec_helper"

# No missed wake-up under stress: many producers on one FD poller, `max_time: 1` (so drains
# are cut short all the time and the poller must re-signal itself), while other producers
# register and unregister on the same poller throughout.
#
# `poll_timeout` and `periodic_poll_interval` are raised far above the handle wait limit, so
# the periodic safety net cannot hide a missed wake-up: a producer whose pipe signal was lost
# would stall and its handles would time out.
RSpec.describe "FD poller under stress" do
  let(:monotonic) { -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) } }

  after { WaterDrop::Polling::Config.reset! }

  it "delivers every message of 25 producers on one poller while producers come and go", timeout: 300 do
    total = Integer(ENV.fetch("STRESS_MESSAGES", "1000000"))
    producer_count = 25
    per_producer = total / producer_count
    total = per_producer * producer_count
    wait_ms = 60_000

    WaterDrop::Polling.setup { |c| c.poll_timeout = 600_000 }
    poller = WaterDrop::Polling::Poller.new
    polling = { mode: :fd, poller: poller, fd: { max_time: 1, periodic_poll_interval: 600_000 } }
    topic = mock_topic(partitions: 4)

    ack_mutex = Mutex.new
    acked = 0
    churn_acked = 0
    errors = Queue.new

    producers = Array.new(producer_count) do
      producer = build_producer(polling: polling, max_wait_timeout: wait_ms)
      producer.monitor.subscribe("message.acknowledged") { ack_mutex.synchronize { acked += 1 } }
      producer.monitor.subscribe("error.occurred") { |event| errors << event[:error] }
      producer
    end

    # Churn: short-lived producers on the same poller for the whole run.
    stop_churn = false
    churn_cycles = 0
    churn_handles = []
    churn = Thread.new do
      until stop_churn
        short = build_producer(polling: polling, max_wait_timeout: wait_ms)
        short.monitor.subscribe("message.acknowledged") { ack_mutex.synchronize { churn_acked += 1 } }
        short.monitor.subscribe("error.occurred") { |event| errors << event[:error] }
        handles = Array.new(3) { |i| short.produce_async(topic: topic, payload: "churn-#{i}") }
        short.close
        churn_handles.concat(handles)
        churn_cycles += 1
      end
    end
    churn.report_on_exception = false

    started = monotonic.call
    workers = producers.map.with_index do |producer, index|
      Thread.new do
        payload = "m" * 100
        handles = Array.new(per_producer) do |i|
          producer.produce_async(topic: topic, payload: payload, label: [index, i])
        end
        handles.map { |h| h.wait(max_wait_timeout_ms: wait_ms, raise_response_error: false) }
      end
    end
    workers.each { |t| t.report_on_exception = false }
    reports = workers.flat_map(&:value)
    duration = monotonic.call - started

    stop_churn = true
    churn.join

    rate = (total / duration).round
    puts "\n  stress: #{total} messages from #{producer_count} producers in #{duration.round(2)} s " \
         "(#{rate} msg/s); #{churn_cycles} short-lived producers registered/closed meanwhile"

    expect(reports.size).to eq(total)
    expect(reports.map(&:error).compact).to be_empty
    expect(reports.map(&:offset)).to all(be >= 0)
    # Handles of the same producer carry their own labels back.
    expect(reports.map(&:label).uniq.size).to eq(total)

    expect(churn_cycles).to be > 0
    expect(churn_handles.count(&:pending?)).to eq(0)
    expect(churn_handles.map(&:error_code).uniq).to eq([0])

    # Acknowledgements are instrumented before the waiter wakes, so they are all in.
    expect(ack_mutex.synchronize { acked }).to eq(total)
    expect(ack_mutex.synchronize { churn_acked }).to eq(churn_handles.size)
    expect(errors.size).to eq(0), -> { "errors: #{Array.new(errors.size) { errors.pop }.first(5).inspect}" }
    expect(poller.count).to eq(producer_count)
  end

  # WaterDrop #853: a few sync batches separated by idle gaps longer than the poller's wait
  # timeout; each batch must complete (a missed wake-up after an idle period shows up as a
  # wait timeout here).
  it "completes produce_many_sync after idle gaps longer than poll_timeout" do
    WaterDrop::Polling.setup { |c| c.poll_timeout = 100 }
    poller = WaterDrop::Polling::Poller.instance
    # The shared poller reads poll_timeout when its thread starts: start it afresh.
    wait_until { !poller.alive? }

    topic = mock_topic
    producer = build_producer(max_wait_timeout: 5_000)
    latencies = []

    50.times do |call|
      messages = Array.new(10) { |i| { topic: topic, payload: "batch-#{call}-#{i}" } }
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      handles = producer.produce_many_sync(messages)
      latencies << (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)

      expect(handles.size).to eq(10)
      expect(handles.none?(&:pending?)).to be(true)
      expect(handles.map(&:error_code).uniq).to eq([0])
      sleep 0.15 # idle longer than poll_timeout
    end

    puts "\n  produce_many_sync after idle gaps: 50 calls, max #{(latencies.max * 1000).round(1)} ms, " \
         "median #{(latencies.sort[latencies.size / 2] * 1000).round(1)} ms"
  end
end
