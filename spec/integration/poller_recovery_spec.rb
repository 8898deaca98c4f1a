# frozen_string_literal: true

require "spec_helper"

# The poller thread survives what may happen to it: killed, sent a non-StandardError,
# stopped half-way through a batch of delivery reports; and a wrong register leaves the
# producer's wake-ups alone. Each scenario runs in its own child process with a bound on
# time, with a long poll_timeout so that only the producer's own pipe can wake the poller.
RSpec.describe "Poller recovery", timeout: 120 do
  def poller_thread
    Thread.list.find { |t| t.name == "waterdrop.poller#0" && t.alive? }
  end

  def slow_periodic_poll!
    WaterDrop::Polling.setup { |c| c.poll_timeout = 60_000 }
  end

  it "serves its producers again after the poller thread was killed" do
    result = in_child(timeout: 60) do |cluster|
      slow_periodic_poll!
      cluster.create_topic("killed", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "killed", payload: "before")
      killed = poller_thread
      killed.kill
      killed.join
      report = producer.produce_sync(topic: "killed", payload: "after")
      replacement = poller_thread
      producer.close
      [report.offset, !replacement.nil? && replacement != killed]
    end

    expect(result).to eq([1, true])
  end

  it "serves its producers again after a non-StandardError ended the poller thread" do
    result = in_child(timeout: 60) do |cluster|
      slow_periodic_poll!
      cluster.create_topic("interrupted", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "interrupted", payload: "before")
      interrupted = poller_thread
      interrupted.raise(Interrupt)
      begin
        interrupted.join
      rescue Interrupt
        nil # join re-raises what ended the thread
      end
      report = producer.produce_sync(topic: "interrupted", payload: "after")
      producer.close
      report.offset
    end

    expect(result).to eq(1)
  end

  it "completes every report of a delivery batch whose listener killed the poller thread part-way" do
    result = in_child(timeout: 60) do |cluster|
      slow_periodic_poll!
      cluster.create_topic("batch", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "batch", payload: "connect")
      killed = []
      producer.monitor.subscribe("message.acknowledged") do |event|
        next unless event[:label] == 0 && killed.empty?

        killed << Thread.current
        Thread.current.kill
      end
      # Linger so that the ten messages go in one request and come back as one batch.
      handles = producer.produce_many_async(Array.new(10) { |i| { topic: "batch", payload: "m#{i}", label: i } })
      offsets = handles.map { |h| h.wait(max_wait_timeout_ms: 5_000).offset }
      producer.close
      [killed.size, offsets]
    end

    expect(result).to eq([1, (1..10).to_a])
  end

  it "finishes a close whose last report's listener killed the poller thread" do
    result = in_child(timeout: 60) do |cluster|
      slow_periodic_poll!
      cluster.create_topic("closing", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      bystander = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "closing", payload: "connect")
      bystander.produce_sync(topic: "closing", payload: "connect")
      producer.monitor.subscribe("message.acknowledged") do |event|
        Thread.current.kill if event[:label] == :last
      end
      handle = producer.produce_async(topic: "closing", payload: "last", label: :last)
      producer.close
      [producer.status.to_s, handle.wait(max_wait_timeout_ms: 0).offset,
       bystander.produce_sync(topic: "closing", payload: "after").offset,
       WaterDrop::Polling::Poller.instance.count].tap { bystander.close }
    end

    expect(result).to eq(["closed", 2, 3, 1])
  end

  it "keeps a producer's wake-ups when it is registered a second time by mistake" do
    result = in_child(timeout: 60) do |cluster|
      slow_periodic_poll!
      cluster.create_topic("twice", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "twice", payload: "connect")
      error = begin
        producer.poller.register(producer)
        nil
      rescue StandardError => e
        [e.class.name, e.message]
      end
      report = producer.produce_sync(topic: "twice", payload: "after")
      producer.close
      [error, report.offset]
    end

    expect(result).to eq([["ArgumentError", "this producer is already registered with this poller"], 1])
  end

  it "closes a producer whose native client was destroyed first, instead of the poller retiring it for ever" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("destroyed-first", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "destroyed-first", payload: "before")
      producer.client.destroy
      # Before: the poller retired it for ever (io events "not confirmed off" on a destroyed
      # client), holding the GVL, and this close never returned.
      producer.close
      [producer.status.to_s, WaterDrop::Polling::Poller.instance.count]
    end

    expect(result).to eq(["closed", 0])
  end

  it "finishes a second close after the first was killed anywhere in it, while the poller served events" do
    result = in_child(timeout: 90) do |cluster|
      cluster.create_topic("killed-close", partitions: 1)
      outcomes = Array.new(12) do |round|
        producer = child_producer(cluster, max_wait_timeout: 5_000)
        # A slow listener keeps the poller inside delivery events while close runs.
        producer.monitor.subscribe("message.acknowledged") { sleep 0.002 }
        handles = Array.new(200) { |i| producer.produce_async(topic: "killed-close", payload: "m#{i}") }
        first = Thread.new { producer.close }
        sleep(0.003 * round) # the kill lands in flush, unregister or destroy
        first.kill
        first.join
        producer.close
        [producer.status.to_s, handles.count(&:pending?)]
      end
      outcomes.uniq
    end

    expect(result).to eq([["closed", 0]])
  end
end
