# frozen_string_literal: true

require "spec_helper"

# B3: a tiny librdkafka queue and a slow broker: producers wait and retry, every retry is
# instrumented, the wait timeout raises queue_full, and the queue never grows past its cap.
RSpec.describe "Queue full", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }
  let(:cap) { 10 }
  let(:quiet) { Logger.new(File::NULL) }

  def small_queue_producer(**settings)
    build_producer(kafka: { "queue.buffering.max.messages": cap, "linger.ms": 0 }, logger: quiet,
                   max_wait_timeout: 30_000, **settings)
  end

  it "blocks and retries, instruments every retry and stays within the cap" do
    producer = small_queue_producer(wait_backoff_on_queue_full: 20, wait_timeout_on_queue_full: 30_000)
    retries = Queue.new
    producer.monitor.subscribe("error.occurred") { |e| retries << e }
    producer.produce_sync(topic: topic, payload: "warm-up")
    all_brokers_rtt(200)

    max_seen = 0
    sampling = true
    sampler = Thread.new do
      while sampling
        size = producer.queue_size
        max_seen = size if size > max_seen
        sleep 0.001
      end
    end
    started = now_s
    handles = Queue.new
    producers = Array.new(2) do |t|
      Thread.new { 50.times { |i| handles << producer.produce_async(topic: topic, payload: "q#{t}-#{i}") } }
    end
    producers.each(&:join)
    list = []
    list << handles.pop until handles.empty?
    reports = list.map { |h| h.wait(max_wait_timeout_ms: 30_000, raise_response_error: false) }
    sampling = false
    sampler.join
    took = now_s - started

    events = []
    events << retries.pop until retries.empty?
    types = events.map { |e| e[:type] }.tally
    causes = events.map { |e| e[:error].cause&.code }.tally
    delivered = reports.count { |r| r.error.nil? }
    puts "[queue_full/retry] sent=100 delivered=#{delivered} retries_instrumented=#{events.size} types=#{types} " \
         "causes=#{causes} max_queue_size=#{max_seen} (cap #{cap}) in #{took.round(2)}s"

    expect(delivered).to eq(100)
    expect(events.size).to be > 0
    expect(types.keys).to eq(["message.produce_async"])
    expect(causes.keys).to eq([:queue_full])
    expect(events).to all(satisfy { |e| e[:error].is_a?(WaterDrop::Errors::ProduceError) && e[:message][:topic] == topic })
    # queue_size is rd_kafka_outq_len: messages (capped by librdkafka) plus events not yet
    # served by the poller (one delivery-report event per acked batch, logs, statistics). On a
    # loaded 2-core machine a few such events can be waiting, so the bound allows one cap's worth
    # of them; a queue that kept growing (retries bypassing the cap, or a poller that stopped
    # serving) would exceed it many times over.
    expect(max_seen).to be <= cap * 2
  end

  it "raises ProduceError caused by queue_full once wait_timeout_on_queue_full passes" do
    producer = small_queue_producer(wait_backoff_on_queue_full: 20, wait_timeout_on_queue_full: 200)
    retries = Queue.new
    producer.monitor.subscribe("error.occurred") { |e| retries << e[:type] }
    producer.produce_sync(topic: topic, payload: "warm-up")
    all_brokers_down
    handles = Array.new(cap) { |i| producer.produce_async(topic: topic, payload: "fill#{i}") }

    started = now_s
    error = nil
    begin
      producer.produce_async(topic: topic, payload: "one too many")
    rescue WaterDrop::Errors::ProduceError => e
      error = e
    end
    took = now_s - started
    puts "[queue_full/timeout] filled=#{handles.size} raised=#{error&.cause.inspect} after #{(took * 1000).round}ms " \
         "retry_events=#{retries.size} queue_size=#{producer.queue_size}"
    expect(error).to be_a(WaterDrop::Errors::ProduceError)
    expect(error.cause.code).to eq(:queue_full)
    expect(took).to be_between(0.18, 1.5)
    expect(producer.queue_size).to be <= cap

    no_wait = small_queue_producer(wait_on_queue_full: false)
    started = now_s
    expect do
      (cap + 1).times { |i| no_wait.produce_async(topic: topic, payload: "nw#{i}") }
    end.to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause.code).to eq(:queue_full) }
    expect(now_s - started).to be < 0.2
  end

  it "finishes a batch that fills the queue: the rest waits its turn, in order" do
    topic_one = mock_topic(partitions: 1)
    producer = small_queue_producer(wait_backoff_on_queue_full: 5, wait_timeout_on_queue_full: 30_000)
    producer.produce_sync(topic: topic_one, payload: "warm-up")
    all_brokers_rtt(20)

    handles = producer.produce_many_sync(Array.new(200) { |i| { topic: topic_one, payload: "b#{i}" } })
    puts "[queue_full/batch] sent=200 (cap #{cap}) delivered=#{handles.count { |h| h.error_code.zero? }}"
    expect(handles.map { |h| h.wait.offset }).to eq((1..200).to_a)
    expect(kcat_read(topic_one, "%s").drop(1)).to eq(Array.new(200) { |i| "b#{i}" })
  end

  it "reports exactly the handed-over messages when a batch hits a full queue without waiting" do
    producer = small_queue_producer(wait_on_queue_full: false)
    failures = Queue.new
    producer.monitor.subscribe("error.occurred") { |e| failures << e }
    producer.produce_sync(topic: topic, payload: "warm-up")
    all_brokers_down
    batch = Array.new(cap * 3) { |i| { topic: topic, payload: "f#{i}" } }

    error = nil
    begin
      producer.produce_many_async(batch)
    rescue WaterDrop::Errors::ProduceManyError => e
      error = e
    end
    expect(error).to be_a(WaterDrop::Errors::ProduceManyError)
    expect(error.cause.code).to eq(:queue_full)
    expect(error.dispatched.size).to eq(cap)
    event = failures.pop
    expect(event[:type]).to eq("messages.produce_many_async")
    expect(event[:dispatched]).to equal(error.dispatched)
    expect(event[:messages]).to equal(batch)
    all_brokers_up
    expect(error.dispatched.map { |h| h.wait(max_wait_timeout_ms: 30_000).error }).to eq([nil] * cap)
  end
end
