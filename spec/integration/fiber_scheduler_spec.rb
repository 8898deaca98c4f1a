# frozen_string_literal: true

require "spec_helper"
require "async"

# produce_sync waits on a WaterdropFd::Latch (Mutex + ConditionVariable). Under a Fiber
# scheduler that wait suspends only the fiber, so other fibers of the same thread keep
# working: several produce_sync calls in concurrent Async tasks overlap.
RSpec.describe "produce_sync under a Fiber scheduler (async gem)" do
  rtt_ms = 300
  brokers = 1..3

  let(:topic) { mock_topic }
  let(:producer) { build_producer }

  around do |example|
    example.run
  ensure
    brokers.each { |id| mock_cluster.set_rtt(id, 0) }
  end

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  it "lets concurrent tasks' round trips overlap instead of adding up" do
    producer.produce_sync(topic: topic, payload: "warm-up") # connections and metadata, fast
    brokers.each { |id| mock_cluster.set_rtt(id, rtt_ms) }

    single_started = now
    producer.produce_sync(topic: topic, payload: "alone")
    single = now - single_started
    expect(single).to be >= rtt_ms / 1000.0 * 0.9 # the raised RTT is in effect

    spans = []
    started = now
    Async do |task|
      Array.new(5) do |i|
        task.async do
          begin_at = now
          report = producer.produce_sync(topic: topic, payload: "concurrent-#{i}")
          spans << [begin_at, now, report]
        end
      end.each(&:wait)
    end
    total = now - started

    expect(spans.size).to eq(5)
    expect(spans.map { |s| s[2].error }).to all(be_nil)
    # Overlap: every task was waiting before the first one got its report.
    expect(spans.map(&:first).max).to be < spans.map { |s| s[1] }.min
    # One round trip or so, far from the 5 x RTT of running them one after another.
    expect(total).to be < 2 * rtt_ms / 1000.0 + 0.2
  end

  it "keeps the reactor running other fibers while a task waits for its report" do
    producer.produce_sync(topic: topic, payload: "warm-up")
    brokers.each { |id| mock_cluster.set_rtt(id, rtt_ms) }
    ticks = 0
    Async do |task|
      ticker = task.async do
        loop do
          ticks += 1
          task.sleep(0.01)
        end
      end
      producer.produce_sync(topic: topic, payload: "slow")
      ticker.stop
    end
    expect(ticks).to be >= 10 # the ticker ran during the ~300 ms wait
  end
end
