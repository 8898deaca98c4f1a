# frozen_string_literal: true

require "spec_helper"

# The native producer, delivery handle and delivery report are write-barrier protected (so
# that thousands of old in-flight handles are not marked again by every minor GC). Each
# write of a VALUE into them must then tell the GC. Ruby's own checker finds a missed one:
# GC.verify_internal_consistency stops the process with "WB miss (O->Y)" when an old object
# references a young one it was never told about. Each scenario makes the holder old first
# (four full GCs), writes young objects into it through the API, and asks the checker; it
# runs in a child process, because a miss aborts the whole process.
RSpec.describe "write barriers of the native objects", gc: true do
  def make_old(*objects)
    4.times { GC.start(full_mark: true, immediate_sweep: true) }
    objects
  end

  it "are run when an old producer takes new handles (fast path, full path, batch)" do
    result = in_child(timeout: 120) do |cluster|
      producer = child_producer(cluster)
      producer.produce_sync(topic: "wb", payload: "warm-up")
      make_old(producer)
      # And a major GC left in its incremental marking phase while the writes happen.
      GC.start(full_mark: true, immediate_mark: false)
      handles = Array.new(50) { |i| producer.produce_async(topic: "wb", payload: "fast-#{i}", label: +"label-#{i}") }
      # Array header values are declined by the fast path: these go the Ruby way.
      handles += Array.new(50) do |i|
        producer.produce_async(topic: "wb", payload: "full-#{i}", headers: { "h" => %W[a#{i} b] }, label: [i])
      end
      handles += producer.produce_many_async(Array.new(50) { |i| { topic: "wb", payload: "batch-#{i}", label: { i: i } } })
      GC.verify_internal_consistency
      reports = handles.map(&:wait)
      GC.verify_internal_consistency
      producer.close
      reports.map { |r| r.label.is_a?(String) || r.label.is_a?(Array) || r.label.is_a?(Hash) }.count(true)
    end
    expect(result).to eq(150)
  end

  it "are run when a waiter attaches to an old pending handle (wait and wait_all)" do
    result = in_child(timeout: 120) do |cluster|
      producer = child_producer(cluster)
      producer.produce_sync(topic: "wb", payload: "warm-up")
      cluster.set_rtt(1, 3_000)
      single = producer.produce_async(topic: "wb", payload: "single")
      batch = Array.new(20) { |i| producer.produce_async(topic: "wb", payload: "batch-#{i}") }
      make_old(producer, single, batch)
      raise "delivered too early for this scenario" unless single.pending? && batch.all?(&:pending?)

      waiters = [Thread.new { single.wait }, Thread.new { WaterdropFd::DeliveryHandle.wait_all(batch) }]
      # Both waits have attached their (young) waiters once the handles name one.
      Thread.pass until single.send(:_waiter) && batch.all? { |h| h.send(:_waiter) }
      GC.verify_internal_consistency
      cluster.set_rtt(1, 0)
      reports = [waiters[0].value, *waiters[1].value.map(&:create_result)]
      GC.verify_internal_consistency
      producer.close
      reports.map(&:offset).count { |o| o >= 0 }
    end
    expect(result).to eq(21)
  end

  it "are run when an old report is initialized or copied into" do
    result = in_child(timeout: 60) do |_cluster|
      report = WaterdropFd::DeliveryReport.allocate
      make_old(report)
      report.send(:initialize, 1, 2, +"young topic", WaterdropFd::RdkafkaError.new(-1), Object.new)
      GC.verify_internal_consistency
      target = WaterdropFd::DeliveryReport.allocate
      make_old(target)
      target.send(:initialize_copy, WaterdropFd::DeliveryReport.new(3, 4, +"other", nil, [+"young label"]))
      GC.verify_internal_consistency
      [report.topic_name, report.error.code, target.topic, target.label]
    end
    expect(result).to eq(["young topic", :unknown, "other", ["young label"]])
  end
end
