# frozen_string_literal: true

require "spec_helper"
require "weakref"
require_relative "gc_helpers"

# Producers the application drops without `close`. The documented bound (README, "Garbage
# collection"): a producer that never connected is collected and owns nothing; a connected one
# stays registered with its poller, keeps delivering, and keeps its librdkafka threads until
# `close` (or process exit). GC itself never flushes, destroys or waits on the network.
RSpec.describe "producers dropped without close", gc: true do
  include FaultsHelpers

  def native_threads = Dir.children("/proc/self/task").size

  def settings
    { "bootstrap.servers": mock_cluster.bootstrap_servers, "message.timeout.ms": 60_000 }
  end

  def full_gc = 3.times { GC.start(full_mark: true, immediate_sweep: true) }

  # Built in a method frame that returns only weak references.
  def build_unconnected(count)
    kafka = settings
    Array.new(count) do
      WeakRef.new(WaterDrop::Producer.new { |config| config.kafka = kafka })
    end
  end

  def build_connected_and_drop(topic, count, reports)
    kafka = settings
    producer = WaterDrop::Producer.new do |config|
      config.kafka = kafka
      config.logger = Logger.new(File::NULL)
    end
    producer.monitor.subscribe("message.acknowledged") { |e| reports << e[:label] }
    # The first call connects (client created, registered with the poller).
    producer.produce_async(topic: topic, payload: "first", label: 0)
    (1...count).each { |n| producer.produce_async(topic: topic, payload: "m#{n}", label: n) }
    WeakRef.new(producer)
  end

  it "collects a producer that never connected, leaving no thread or fd behind" do
    full_gc
    threads0 = native_threads
    fds0 = fd_count
    weak = build_unconnected(50)
    full_gc
    collected = weak.count { |w| !w.weakref_alive? }
    warn format("[gc] dropped unconnected: %d/50 collected, native threads %d->%d, fds %d->%d",
                collected, threads0, native_threads, fds0, fd_count)
    # The conservative stack scan may keep a stray object or two reachable.
    expect(collected).to be >= 48
    expect(native_threads).to eq(threads0)
    expect(fd_count).to eq(fds0)
  end

  it "keeps a dropped connected producer delivering; GC does not wait on a dead network", timeout: 300 do
    topic = mock_topic(partitions: 3)
    reports = Queue.new
    count = 200
    threads0 = native_threads
    weak = nil
    gc_seconds = nil
    begin
      all_brokers_down
      weak = build_connected_and_drop(topic, count, reports)
      started = GcSpecHelpers.monotonic
      full_gc
      GC.compact
      gc_seconds = GcSpecHelpers.monotonic - started
      alive_while_down = weak.weakref_alive?
      threads_connected = native_threads
    ensure
      all_brokers_up
    end
    labels = Array.new(count) { reports.pop }
    # The application can still reach it (here through the weak reference) and close it.
    weak.__getobj__.close
    full_gc
    settled = wait_until(timeout: 10) { native_threads <= threads0 && native_threads }
    warn format("[gc] dropped connected: GC+compact %.3fs with brokers down, %d/%d delivered after, " \
                "native threads %d -> %d connected -> %d after close",
                gc_seconds, labels.size, count, threads0, threads_connected, settled)
    # A GC that flushed or destroyed the client would wait here up to message.timeout.ms (60 s).
    expect(gc_seconds).to be < 5
    expect(alive_while_down).to be(true)
    expect(labels.sort).to eq((0...count).to_a)
    expect(threads_connected).to be > threads0
    expect(settled).to be <= threads0
  end
end
