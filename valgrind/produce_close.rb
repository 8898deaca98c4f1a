# frozen_string_literal: true

# Focused memcheck workload (rake valgrind): mock cluster, 3 producers, 2,000 labelled
# messages, a compaction while they are in flight, close. Kept small: memcheck is ~50x slower.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "waterdrop_fd"

cluster = WaterdropFd::Testing::MockCluster.new(brokers: 1)
cluster.create_topic("valgrind", partitions: 2)
producers = Array.new(3) do
  WaterDrop::Producer.new do |config|
    config.kafka = { "bootstrap.servers": cluster.bootstrap_servers }
  end
end

count = Integer(ENV.fetch("VALGRIND_MESSAGES", 2_000))
handles = Array.new(count) do |i|
  label = i.even? ? "label-#{i}" : { n: i }
  producers[i % 3].produce_async(topic: "valgrind", payload: "payload-#{i}", label: label)
end
GC.start
GC.compact
bad = handles.each_with_index.count do |h, i|
  report = h.wait(max_wait_timeout_ms: 120_000)
  report.error || report.label != (i.even? ? "label-#{i}" : { n: i })
end
producers.each(&:close)
cluster.close
puts "valgrind workload: #{count} messages, #{bad} bad reports"
exit(bad.zero? ? 0 : 1)
