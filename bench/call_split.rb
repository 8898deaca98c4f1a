# frozen_string_literal: true

# Splits the cost of one produce_async call: the whole API call against the native call it
# ends in (try_produce), CPU time of the calling thread, on an in-process mock cluster.
#   ruby bench/call_split.rb [connected producers, default 1] [polling mode, default fd]
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "waterdrop_fd"

count = Integer(ARGV.fetch(0, "1"))
mode = ARGV.fetch(1, "fd").to_sym
calls = 10_000
runs = 8
cluster = WaterdropFd::Testing::MockCluster.new(brokers: 3)
cluster.create_topic("split", partitions: 4)
fleet = Array.new(count) do
  WaterDrop::Producer.new do |c|
    c.kafka = { "bootstrap.servers": cluster.bootstrap_servers, "statistics.interval.ms": 0 }
    c.polling.mode = mode
  end
end
fleet.each { |p| p.produce_sync(topic: "split", payload: "warm") }
producer = fleet.first
native = producer.native_client
limit = producer.config.max_payload_size
message = { topic: "split", payload: "x" * 100 }.freeze
cases = { "produce_async" => -> { producer.produce_async(message) }, "native call" => -> { native.try_produce(message, limit) } }
results = Hash.new { |h, k| h[k] = [] }
runs.times do
  cases.each do |name, call|
    GC.start
    started = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
    handles = Array.new(calls) { call.call }
    results[name] << ((Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - started) * 1e6 / calls)
    handles.each(&:wait)
  end
end
results.each do |name, values|
  values.sort!
  printf("%d producer(s) %-14s median %.3f µs/call (min %.3f, max %.3f)\n", count, name, values[values.size / 2], values.first, values.last)
end
fleet.each(&:close)
cluster.close
