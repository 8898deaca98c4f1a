# frozen_string_literal: true

require "spec_helper"

# C1/C3: raising listeners are reported and never stop the poller; a slow listener on one
# poller does not slow producers served by another.
RSpec.describe "Callback faults", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }

  it "reports raising listeners on every event type and keeps serving every producer" do
    raising_logger = Logger.new(File::NULL)
    def raising_logger.add(*) = raise("logger boom")

    producer = build_producer(kafka: { "statistics.interval.ms": 100, debug: "msg" }, logger: raising_logger,
                              max_wait_timeout: 10_000)
    bystander = build_producer(logger: Logger.new(File::NULL), max_wait_timeout: 10_000)
    reported = Queue.new
    producer.monitor.subscribe("error.occurred") do |e|
      reported << e[:type]
      raise "error.occurred listener boom" if e[:type] == "librdkafka.dispatch_error"
    end
    producer.monitor.subscribe("message.acknowledged") { raise "ack listener boom" }
    producer.monitor.subscribe("statistics.emitted") { raise "statistics listener boom" }

    started = now_s
    reports = Array.new(50) { |i| producer.produce_sync(topic: topic, payload: "c#{i}") }
    # A delivery failure (broker reject) whose error.occurred listener raises as well.
    mock_cluster.push_request_errors(0, 10) # MESSAGE_TOO_LARGE
    bad = producer.produce_async(topic: topic, payload: "rejected", partition: 0)
    bad_report = bad.wait(max_wait_timeout_ms: 10_000, raise_response_error: false)
    sleep 0.5 # statistics ticks
    after = Array.new(20) { |i| bystander.produce_sync(topic: topic, payload: "b#{i}") }
    still = producer.produce_sync(topic: topic, payload: "still alive")

    types = []
    types << reported.pop until reported.empty?
    tally = types.tally
    puts "[callbacks/raising] sync_ok=#{reports.count { |r| r.error.nil? }}/50 bad=#{bad_report.error&.code} " \
         "bystander_ok=#{after.count { |r| r.error.nil? }}/20 reported=#{tally} in #{(now_s - started).round(2)}s"

    expect(reports.map(&:error)).to all(be_nil)
    expect(bad_report.error.code).to eq(:msg_size_too_large)
    expect(tally["callbacks.delivery.error"]).to be >= 50
    expect(tally["callbacks.statistics.error"]).to be >= 1
    expect(tally["callbacks.log.error"]).to be >= 1
    expect(tally["librdkafka.dispatch_error"]).to eq(1)
    expect(after.map(&:error)).to all(be_nil)
    expect(still.error).to be_nil
    expect(WaterDrop::Polling::Poller.instance.alive?).to be(true)
  end

  it "keeps producers on another poller fast while one poller runs a slow listener" do
    slow_poller = WaterDrop::Polling::Poller.new
    slow = build_producer(polling: { poller: slow_poller }, logger: Logger.new(File::NULL), max_wait_timeout: 60_000)
    fast = build_producer(logger: Logger.new(File::NULL), max_wait_timeout: 10_000)
    slow_acks = Queue.new
    slow.monitor.subscribe("message.acknowledged") do
      sleep 0.2
      slow_acks << Thread.current
    end
    slow.produce_sync(topic: topic, payload: "warm-up")
    fast.produce_sync(topic: topic, payload: "warm-up")
    slow_acks.clear

    slow_handles = Array.new(20) { |i| slow.produce_async(topic: topic, payload: "s#{i}") }
    sleep 0.05 # the slow poller is now inside the slow listener
    latencies = Array.new(50) do |i|
      t0 = now_s
      fast.produce_sync(topic: topic, payload: "f#{i}")
      now_s - t0
    end
    slow_done_before = slow_acks.size
    slow_handles.each { |h| h.wait(max_wait_timeout_ms: 60_000) }
    sorted = latencies.sort
    p50 = sorted[sorted.size / 2]
    p99 = sorted[(sorted.size * 0.99).floor - 1]
    puts "[callbacks/slow_poller] fast produce_sync x50 p50=#{(p50 * 1000).round(1)}ms p99=#{(p99 * 1000).round(1)}ms " \
         "max=#{(sorted.last * 1000).round(1)}ms; slow acks done meanwhile=#{slow_done_before}/20"

    expect(slow_done_before).to be < 20 # the slow listener really was busy during the measurement
    expect(p50).to be < 0.05
    expect(sorted.last).to be < 0.1
  end
end
