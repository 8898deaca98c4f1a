# frozen_string_literal: true

require "spec_helper"

# S1, S2, S4, S5: closing never hangs, never leaves a handle pending and leaks nothing.
RSpec.describe "Shutdown under faults", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }
  let(:quiet) { Logger.new(File::NULL) }

  def connected_producer(max_wait_timeout: 2_000, **kafka)
    producer = build_producer(kafka: FaultsHelpers::FAST_FAIL.merge(kafka), logger: quiet,
                              max_wait_timeout: max_wait_timeout)
    producer.produce_sync(topic: topic, payload: "warm-up")
    producer
  end

  it "close with every broker down returns within max_wait_timeout and fails the undelivered handles" do
    producer = connected_producer(max_wait_timeout: 2_000)
    all_brokers_down
    handles = Array.new(1_000) { |i| producer.produce_async(topic: topic, payload: "m#{i}") }

    started = now_s
    producer.close
    took = now_s - started

    pending = handles.count(&:pending?)
    codes = handles.map { |h| h.wait(max_wait_timeout_ms: 0, raise_response_error: false).error&.code }.tally
    puts "[shutdown/close] sent=1000 close_took=#{took.round(3)}s pending_after=#{pending} outcomes=#{codes}"

    expect(took).to be < 2.0 + 1.5
    expect(pending).to eq(0)
    expect(codes.keys).not_to include(nil) # nothing could be delivered
    expect(codes.values.sum).to eq(1_000)
    expect(producer.status.closed?).to be(true)
  end

  it "close! with every broker down purges and returns in under a second" do
    producer = connected_producer(max_wait_timeout: 30_000)
    all_brokers_down
    handles = Array.new(1_000) { |i| producer.produce_async(topic: topic, payload: "m#{i}") }

    started = now_s
    producer.close!
    took = now_s - started

    codes = handles.map { |h| h.wait(max_wait_timeout_ms: 0, raise_response_error: false).error&.code }.tally
    puts "[shutdown/close!] sent=1000 close!_took=#{took.round(3)}s outcomes=#{codes}"

    expect(took).to be < 1.0
    expect(handles.count(&:pending?)).to eq(0)
    expect(codes.keys - %i[purge_queue purge_inflight]).to be_empty
  end

  it "survives produce racing close from many threads (200 rounds)" do
    totals = Hash.new(0)
    started = now_s
    200.times do |round|
      producer = connected_producer(max_wait_timeout: 5_000)
      handles = Queue.new
      unexpected = Queue.new
      go = Queue.new
      workers = Array.new(8) do |t|
        Thread.new do
          go.pop
          loop do
            if t.even?
              handles << producer.produce_async(topic: topic, payload: "r#{round}")
              sleep 0.0002
            else
              producer.produce_sync(topic: topic, payload: "s#{round}")
              totals[:sync_ok] += 1
            end
          rescue WaterDrop::Errors::ProducerClosedError
            totals[:closed_error] += 1
            break
          rescue WaterDrop::Errors::ProduceError => e
            # A sync produce cut short by close: its cause must say why.
            if e.cause.is_a?(WaterdropFd::RdkafkaError) || e.cause.is_a?(WaterdropFd::ClosedProducerError)
              totals[:"produce_error_#{e.cause.class.name.split("::").last}"] += 1
            else
              unexpected << e
            end
          rescue Exception => e # rubocop:disable Lint/RescueException
            unexpected << e
            break
          end
        end
      end
      8.times { go << true }
      sleep rand * 0.02
      closer = Thread.new { producer.close }
      expect(closer.join(10)).not_to be_nil, "close hung in round #{round}"
      expect(workers.map { |w| w.join(10) }).to all(be_truthy), "a producing thread hung in round #{round}"
      expect(unexpected.size).to eq(0), -> { "round #{round}: #{unexpected.pop.full_message}" }

      list = []
      list << handles.pop until handles.empty?
      expect(list.count(&:pending?)).to eq(0)
      totals[:async_handles] += list.size
      totals[:async_delivered] += list.count { |h| h.wait(max_wait_timeout_ms: 0, raise_response_error: false).error.nil? }
      expect { producer.produce_async(topic: topic, payload: "late") }
        .to raise_error(WaterDrop::Errors::ProducerClosedError)
    end
    puts "[shutdown/race] rounds=200 #{totals} in #{(now_s - started).round(2)}s"
  end

  it "stays usable after Thread#kill interrupts close" do
    outcomes = Hash.new(0)
    stuck = []
    native_before = Dir.children("/proc/self/task").size
    20.times do |round|
      producer = connected_producer(max_wait_timeout: 5_000)
      handles = Array.new(1_000) { |i| producer.produce_async(topic: topic, payload: "k#{i}") }
      closer = Thread.new { producer.close }
      sleep 0.001
      closer.kill
      closer.join
      # A second close completes (or the first had already finished).
      Timeout.timeout(10) { producer.close }
      pending = handles.count(&:pending?)
      unless producer.status.closed? && pending.zero?
        stuck << "round #{round}: status=#{producer.status} pending=#{pending} queue_size=#{producer.queue_size}"
        next
      end
      handles.each { |h| outcomes[h.wait(max_wait_timeout_ms: 0, raise_response_error: false).error&.code || :ok] += 1 }
    end
    native_after = Dir.children("/proc/self/task").size
    fresh = connected_producer
    report = fresh.produce_sync(topic: topic, payload: "after kill")
    puts "[shutdown/kill] 20 killed closes: stuck=#{stuck.size} handle outcomes=#{outcomes} " \
         "native threads #{native_before}->#{native_after}, fresh producer offset=#{report.offset}"
    stuck.first(5).each { |line| puts "  #{line}" }
    expect(report.error).to be_nil
    expect(stuck).to eq([])
  end

  it "leaks no threads, fds or memory over 1,000 create/close cycles" do
    cycle = lambda do
      producer = WaterDrop::Producer.new do |config|
        config.kafka = { "bootstrap.servers": mock_cluster.bootstrap_servers }
        config.logger = quiet
      end
      handles = Array.new(10) { |i| producer.produce_async(topic: topic, payload: "c#{i}") }
      producer.close
      raise "pending handle after close" if handles.any?(&:pending?)
    end
    20.times { cycle.call } # warm up: poller, caches, allocator
    GC.start
    threads0 = ruby_thread_count
    fds0 = fd_count
    rss0 = rss_kb
    started = now_s
    1_000.times { cycle.call }
    took = now_s - started
    GC.start
    settled_threads = wait_until(timeout: 10) { ruby_thread_count <= threads0 && ruby_thread_count }
    settled_fds = wait_until(timeout: 10) { fd_count <= fds0 && fd_count }
    rss1 = rss_kb
    native_threads = Dir.children("/proc/self/task").size
    puts "[shutdown/churn] cycles=1000 in #{took.round(2)}s threads #{threads0}->#{settled_threads} " \
         "fds #{fds0}->#{settled_fds} native_threads=#{native_threads} rss #{rss0}kB->#{rss1}kB (+#{rss1 - rss0}kB)"
    expect(settled_threads).to be <= threads0
    expect(settled_fds).to be <= fds0
    expect(rss1 - rss0).to be < 64 * 1024
  end
end
