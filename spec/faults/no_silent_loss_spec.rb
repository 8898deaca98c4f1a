# frozen_string_literal: true

require "spec_helper"

# Every produced message ends in exactly one outcome: a successful delivery report, an
# error delivery report, or an error raised by the produce call. None stays pending.
RSpec.describe "No silent loss while brokers go down and up", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }
  let(:total) { 5_000 }

  it "resolves every one of 5,000 messages exactly once" do
    producer = build_producer(
      kafka: FaultsHelpers::FAST_FAIL.merge("message.timeout.ms": 2_000, "request.timeout.ms": 1_000),
      max_wait_timeout: 30_000
    )
    acked = Queue.new
    failed = Queue.new
    producer.monitor.subscribe("message.acknowledged") { |e| acked << e[:delivery_report] }
    producer.monitor.subscribe("error.occurred") do |e|
      failed << e[:delivery_report] if e[:type] == "librdkafka.dispatch_error"
    end
    producer.produce_sync(topic: topic, payload: "warm-up")
    acked.clear

    handles = []
    raised = []
    started = now_s
    total.times do |i|
      case i
      when 1_000 then mock_cluster.broker_down(1)
      when 2_000 then all_brokers_down
      when 3_000 then mock_cluster.broker_up(2)
      when 4_000 then all_brokers_up
      end
      begin
        handles << producer.produce_async(topic: topic, payload: "m#{i}", partition: i % 3)
      rescue WaterDrop::Errors::ProduceError => e
        raised << e
      end
      sleep 0.0012 # spread the run (~6 s) over the fault timeline: all down for > message.timeout.ms
    end
    sleep 1 # let the last phase (all up) run a little before healing
    all_brokers_up

    reports = handles.map { |h| h.wait(max_wait_timeout_ms: 30_000, raise_response_error: false) }
    elapsed = now_s - started
    delivered = reports.count { |r| r.error.nil? }
    errored = reports.reject { |r| r.error.nil? }
    error_codes = errored.map { |r| r.error.code }.tally
    wait_until(timeout: 10) { acked.size + failed.size >= handles.size }

    puts "[no_silent_loss] sent=#{total} handles=#{handles.size} delivered=#{delivered} " \
         "delivery_errors=#{errored.size} #{error_codes} raised=#{raised.size} " \
         "acked_events=#{acked.size} error_events=#{failed.size} in #{elapsed.round(2)}s"

    expect(handles.count(&:pending?)).to eq(0)
    # The timeline really exercised both outcomes.
    expect(delivered).to be > 0
    expect(errored.size).to be > 0
    expect(delivered + errored.size + raised.size).to eq(total)
    # One instrumentation event per handle, no more, no less.
    expect(acked.size).to eq(delivered)
    expect(failed.size).to eq(errored.size)
    expect(error_codes.keys - %i[msg_timed_out]).to be_empty
    expect(producer.queue_size).to eq(0)
  end
end
