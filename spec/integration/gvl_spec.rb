# frozen_string_literal: true

require "spec_helper"

# The poller and every blocking call wait with the GVL released: other Ruby threads keep
# running, waits can be interrupted, and callbacks run only on the poller thread.
RSpec.describe "GVL" do
  let(:topic) { mock_topic }
  let(:shared) { WaterDrop::Polling::Poller.instance }
  let(:brokers) { [1, 2, 3] }

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # A CPU-bound Ruby thread counting in a loop: [thread, reader of its count].
  def start_counter
    box = [0]
    thread = Thread.new { loop { box[0] += 1 } }
    [thread, -> { box[0] }]
  end

  # Increments of a counter thread during the block (while this thread waits in the block).
  def counted_during(counter)
    from = counter.call
    started = now
    result = yield
    [counter.call - from, now - started, result]
  end

  def slow_brokers(ms)
    brokers.each { |b| mock_cluster.set_rtt(b, ms) }
  end

  after { slow_brokers(0) }

  it "lets a CPU-bound Ruby thread run while the poller waits idle" do
    topic # created before anything is measured
    wait_until { !shared.alive? }
    counter_thread, counter = start_counter
    begin
      # Reference: what the counter does in 300 ms with no poller thread at all.
      reference, = counted_during(counter) { sleep 0.3 }

      producer = build_producer
      producer.produce_sync(topic: topic, payload: "connect") # the poller now waits on fds
      expect(shared).to be_alive
      idle, = counted_during(counter) { sleep 0.3 }

      puts "\n  counter in 300 ms: #{reference} with no poller, #{idle} with an idle poller"
      # A poller holding the GVL while it waits would leave the counter (almost) still.
      expect(idle).to be > reference / 4
      expect(idle).to be > 100_000
    ensure
      counter_thread.kill.join
    end
  end

  it "lets a CPU-bound Ruby thread run while flush waits on a slow broker" do
    producer = build_producer
    producer.produce_sync(topic: topic, payload: "connect")
    counter_thread, counter = start_counter
    begin
      reference, ref_time, = counted_during(counter) { sleep 0.3 }
      slow_brokers(500)
      100.times { |i| producer.produce_async(topic: topic, payload: "slow-#{i}") }
      during, flush_time, flushed = counted_during(counter) { producer.flush(30_000) }

      reference_rate = reference / ref_time
      flush_rate = during / flush_time
      puts "\n  counter rate: #{reference_rate.round} /s reference, #{flush_rate.round} /s " \
           "during a #{(flush_time * 1000).round} ms flush"
      expect(flushed).to be(true)
      expect(flush_time).to be >= 0.4 # the broker really was slow
      expect(flush_rate).to be > reference_rate / 4
    ensure
      counter_thread.kill.join
    end
  end

  context "when a waiting flush is interrupted" do
    let(:stop_error) { Class.new(StandardError) }

    # Starts a flush that cannot finish soon and returns once it is waiting.
    def waiting_flush(producer)
      producer.produce_sync(topic: topic, payload: "connect")
      slow_brokers(500)
      20.times { |i| producer.produce_async(topic: topic, payload: "in-flight-#{i}") }
      state = { finished_at: nil, returned: false }
      thread = Thread.new do
        producer.flush(30_000)
        state[:returned] = true
      ensure
        state[:finished_at] = now
      end
      thread.report_on_exception = false
      wait_until { thread.status == "sleep" }
      [thread, state]
    end

    it "ends at once on Thread#raise" do
      producer = build_producer
      thread, state = waiting_flush(producer)

      raised_at = now
      thread.raise(stop_error, "stop waiting")
      expect { thread.join(5) }.to raise_error(stop_error, "stop waiting")

      latency = state[:finished_at] - raised_at
      puts "\n  flush interrupted by Thread#raise in #{(latency * 1000).round(2)} ms"
      expect(state[:returned]).to be(false)
      expect(latency).to be < 0.1
      # The producer is fine afterwards.
      slow_brokers(0)
      expect(producer.flush(10_000)).to be(true)
      expect(producer.produce_sync(topic: topic, payload: "after").error).to be_nil
    end

    it "ends at once on Thread#kill" do
      producer = build_producer
      thread, state = waiting_flush(producer)

      killed_at = now
      thread.kill
      expect(thread.join(5)).to eq(thread)

      latency = state[:finished_at] - killed_at
      puts "\n  flush interrupted by Thread#kill in #{(latency * 1000).round(2)} ms"
      expect(thread).not_to be_alive
      expect(state[:returned]).to be(false)
      expect(latency).to be < 0.1
      slow_brokers(0)
      expect(producer.flush(10_000)).to be(true)
    end

    it "leaves no file descriptor behind, however often it is interrupted" do
      producer = build_producer
      thread, = waiting_flush(producer)
      thread.kill.join
      # Connections to the slow brokers exist now; what is left is the waits' own fds.
      before = fd_count
      20.times do |i|
        thread, = waiting_flush(producer)
        i.even? ? thread.raise(stop_error) : thread.kill
        begin
          thread.join(5)
        rescue stop_error
          nil
        end
        expect(thread).not_to be_alive
      end
      slow_brokers(0)
      expect(producer.flush(10_000)).to be(true)
      after = fd_count
      puts "\n  fds around 20 interrupted flushes: #{before} before, #{after} after"
      # Each wait uses a completion pipe (2 fds): 20 leaked waits would show as +40.
      expect(after - before).to be < 10
    end
  end

  it "runs every delivery and error callback on the poller thread" do
    seen = Queue.new
    producer = build_producer(max_wait_timeout: 10_000)
    producer.monitor.subscribe("message.acknowledged") do |event|
      seen << [:acknowledged, Thread.current, shared.in_poller_thread?, event[:offset]]
    end
    producer.monitor.subscribe("error.occurred") do |event|
      seen << [:error, Thread.current, shared.in_poller_thread?, event[:type]]
    end

    message = { topic: topic, payload: "p" }
    producer.produce_sync(message)
    producer.produce_async(message).wait
    producer.produce_many_sync(Array.new(5) { message })
    producer.produce_many_async(Array.new(5) { message }).each(&:wait)
    Array.new(3) { Thread.new { producer.produce_sync(message) } }.each(&:join)

    # Delivery failures reported by librdkafka (a non-retriable Produce error: 10,
    # MESSAGE_TOO_LARGE) arrive through the same callbacks.
    mock_cluster.push_request_errors(0, 10, 10)
    failed = Array.new(2) { producer.produce_async(message) }
    failed.each { |h| h.wait(raise_response_error: false) }
    mock_cluster.clear_request_errors(0)
    expect(failed.map(&:error_code)).to all(be_nonzero)

    poller_thread = Thread.list.find { |t| t.name == "waterdrop.poller#0" && t.alive? }
    events = Array.new(seen.size) { seen.pop }
    acknowledged = events.select { |e| e[0] == :acknowledged }
    # Errors raised to the caller of a sync produce are instrumented on the caller's thread
    # (as in WaterDrop); the ones librdkafka reports come through the poller.
    from_librdkafka = events.select { |e| e[0] == :error && e[3].start_with?("librdkafka.") }

    puts "\n  callbacks: #{acknowledged.size} acknowledged, #{from_librdkafka.size} librdkafka errors, " \
         "threads: #{events.map { |e| e[1].name }.uniq.inspect}"
    expect(acknowledged.size).to eq(1 + 1 + 5 + 5 + 3)
    expect(from_librdkafka.size).to be >= 2
    (acknowledged + from_librdkafka).each do |kind, thread, in_poller, _|
      expect([kind, thread]).to eq([kind, poller_thread])
      expect(in_poller).to be(true)
    end
    expect(Thread.current.name).not_to eq("waterdrop.poller#0")
  end
end
