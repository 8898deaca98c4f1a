# frozen_string_literal: true

require "spec_helper"

# K5a: broker round trips longer than message.timeout.ms: messages fail with msg_timed_out,
# exactly once each, and nothing hangs.
RSpec.describe "Message timeouts under a slow broker", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }

  it "fails every message with msg_timed_out and returns" do
    producer = build_producer(kafka: { "message.timeout.ms": 1_000, "linger.ms": 0 }, logger: Logger.new(File::NULL),
                              max_wait_timeout: 20_000)
    events = Queue.new
    producer.monitor.subscribe("error.occurred") { |e| events << e[:error].code if e[:type] == "librdkafka.dispatch_error" }
    producer.produce_sync(topic: topic, payload: "warm-up")
    all_brokers_rtt(3_000)

    started = now_s
    handles = Array.new(500) { |i| producer.produce_async(topic: topic, payload: "t#{i}") }
    sync_error = nil
    begin
      producer.produce_sync(topic: topic, payload: "sync")
    rescue WaterDrop::Errors::ProduceError => e
      sync_error = e
    end
    sync_took = now_s - started
    reports = handles.map { |h| h.wait(max_wait_timeout_ms: 20_000, raise_response_error: false) }
    took = now_s - started
    codes = reports.map { |r| r.error&.code || :ok }.tally
    wait_until(timeout: 5) { events.size >= 501 }
    sleep 0.5
    puts "[timeouts] sent=501 outcomes=#{codes} sync=#{sync_error&.cause.inspect} sync_took=#{sync_took.round(2)}s " \
         "all_resolved_in=#{took.round(2)}s error_events=#{events.size}"

    expect(sync_error&.cause&.code).to eq(:msg_timed_out)
    expect(codes).to eq(msg_timed_out: 500)
    expect(events.size).to eq(501) # exactly once each
    expect(took).to be < 10
    all_brokers_rtt(0)
    expect(producer.produce_sync(topic: topic, payload: "healthy again").error).to be_nil
    started = now_s
    producer.close
    expect(now_s - started).to be < 5
  end
end
