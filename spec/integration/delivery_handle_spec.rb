# frozen_string_literal: true

require "spec_helper"

# Waiting on delivery handles, one by one and as a batch (DeliveryHandle.wait_all, which
# produce_many_sync uses), against the mock cluster. A slow broker keeps reports pending long
# enough for the waits to overlap.
RSpec.describe WaterdropFd::DeliveryHandle do
  let(:producer) { build_producer(max_wait_timeout: 30_000) }
  let(:topic) { mock_topic(partitions: 1) }
  let(:brokers) { [1, 2, 3] }

  def slow_brokers(ms)
    brokers.each { |b| mock_cluster.set_rtt(b, ms) }
  end

  after { slow_brokers(0) }

  it "wait returns a report with the message's topic, partition, offset and label" do
    handle = producer.produce_async(topic: topic, payload: "a", label: :first)
    report = handle.wait
    expect(report).to be_a(WaterdropFd::DeliveryReport)
    expect([report.topic_name, report.partition, report.offset, report.error, report.label]).to eq([topic, 0, 0, nil, :first])
    expect(handle.create_result.offset).to eq(0)
  end

  it "wait_all returns once every report arrived, handles another thread waits on included" do
    producer.produce_sync(topic: topic, payload: "warm-up")
    slow_brokers(300)
    handles = Array.new(50) { |i| producer.produce_async(topic: topic, payload: "m#{i}", label: i) }
    waiting = Queue.new
    other = Thread.new do
      waiting << true
      handles[7].wait
    end
    waiting.pop
    wait_until { handles[7].send(:_waiter) }

    expect(described_class.wait_all(handles)).to equal(handles)
    expect(handles.map(&:pending?).uniq).to eq([false])
    expect(handles.map { |h| h.wait.offset }).to eq((1..50).to_a)
    expect(other.value.label).to eq(7)
  end

  it "wait_all raises WaitTimeoutError when the time is up, and each handle can be waited on again" do
    producer.produce_sync(topic: topic, payload: "warm-up")
    slow_brokers(1_000)
    handles = Array.new(20) { |i| producer.produce_async(topic: topic, payload: "t#{i}") }

    expect { described_class.wait_all(handles, max_wait_timeout_ms: 50) }
      .to raise_error(WaterdropFd::WaitTimeoutError, "Waiting for delivery timed out after 50 ms")
    expect(handles.first.wait(max_wait_timeout_ms: 30_000).offset).to eq(1)
    expect(handles.map { |h| h.wait(max_wait_timeout_ms: 30_000).offset }).to eq((1..20).to_a)
  end

  it "wait on one handle after a timed-out wait_all returns as soon as that handle's report arrived" do
    topic = mock_topic(partitions: 2)
    mock_cluster.partition_set_leader(topic, 0, 1)
    mock_cluster.partition_set_leader(topic, 1, 2)
    producer.produce_sync(topic: topic, partition: 0, payload: "warm-up 0")
    producer.produce_sync(topic: topic, partition: 1, payload: "warm-up 1")
    mock_cluster.set_rtt(1, 300)    # the first message arrives soon,
    mock_cluster.set_rtt(2, 20_000) # the second one long after every wait below gave up
    fast = producer.produce_async(topic: topic, partition: 0, payload: "fast")
    slow = producer.produce_async(topic: topic, partition: 1, payload: "slow")

    expect { described_class.wait_all([fast, slow], max_wait_timeout_ms: 50) }
      .to raise_error(WaterdropFd::WaitTimeoutError, "Waiting for delivery timed out after 50 ms")
    report = fast.wait(max_wait_timeout_ms: 10_000)
    expect([report.partition, report.offset, report.error]).to eq([0, 1, nil])
    expect(slow).to be_pending
  end

  it "wait on a handle that a wait_all of another thread waits for returns with its own report" do
    topic = mock_topic(partitions: 2)
    mock_cluster.partition_set_leader(topic, 0, 1)
    mock_cluster.partition_set_leader(topic, 1, 2)
    producer.produce_sync(topic: topic, partition: 0, payload: "warm-up 0")
    producer.produce_sync(topic: topic, partition: 1, payload: "warm-up 1")
    mock_cluster.set_rtt(1, 300)
    mock_cluster.set_rtt(2, 20_000)
    fast = producer.produce_async(topic: topic, partition: 0, payload: "fast")
    slow = producer.produce_async(topic: topic, partition: 1, payload: "slow")
    batch = Thread.new do
      described_class.wait_all([fast, slow], max_wait_timeout_ms: 30_000)
    rescue WaterdropFd::WaitTimeoutError
      :timed_out
    end
    wait_until { fast.send(:_waiter) }

    expect(fast.wait(max_wait_timeout_ms: 10_000).offset).to eq(1)
    expect(slow).to be_pending
    expect(batch).to be_alive # the batch still waits for the slow one
    batch.kill
  end

  it "wait_all returns at once for handles whose reports arrived already" do
    handles = producer.produce_many_async(Array.new(5) { |i| { topic: topic, payload: "d#{i}" } })
    handles.each(&:wait)
    expect(described_class.wait_all(handles, max_wait_timeout_ms: 0)).to equal(handles)
  end
end
