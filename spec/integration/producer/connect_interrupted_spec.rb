# frozen_string_literal: true

require "spec_helper"

# `connect` builds the librdkafka client and registers it with the poller. A connect that
# fails or is interrupted (Timeout, Thread#raise) between the two must not leave the
# producer holding a client that no poller serves: its reports would never be read, so
# every produce_sync would time out although the broker took the message. Each scenario
# runs in its own child process with a bound on time.
RSpec.describe "A producer whose connect was cut short", timeout: 120 do
  def produce_twice(cluster, producer)
    cluster.create_topic("connect", partitions: 1)
    error = begin
      producer.produce_sync(topic: "connect", payload: "first")
      nil
    rescue Exception => e # rubocop:disable Lint/RescueException
      [e.class.name, e.message]
    end
    report = producer.produce_sync(topic: "connect", payload: "second")
    producer.close
    [error, report.offset, producer.status.to_s, WaterDrop::Polling::Poller.instance.count]
  end

  it "serves the producer when an interrupt lands after the client was built, before it was registered" do
    result = in_child(timeout: 60) do |cluster|
      require "timeout"
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      # Delivered as Timeout.timeout delivers it (an asynchronous interrupt), at the point
      # where the client exists but is not registered yet.
      trace = TracePoint.new(:return) do |tp|
        next unless tp.method_id == :refresh_delivery_notifications

        trace.disable
        Thread.current.raise(Timeout::Error, "execution expired")
      end
      trace.enable
      produce_twice(cluster, producer)
    end

    expect(result).to eq([["Timeout::Error", "execution expired"], 0, "closed", 0])
  end

  it "lets interrupts into a poller.producer_registered listener (Timeout inside it works)" do
    result = in_child(timeout: 60) do |cluster|
      require "timeout"
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      outcome = nil
      producer.monitor.subscribe("poller.producer_registered") do
        outcome = begin
          Timeout.timeout(0.1) { sleep 10 }
          :slept
        rescue Timeout::Error
          :timed_out
        end
      end
      cluster.create_topic("connect", partitions: 1)
      report = producer.produce_sync(topic: "connect", payload: "first")
      producer.close
      [outcome, report.offset]
    end

    expect(result).to eq([:timed_out, 0])
  end

  it "connects again when registering with the poller failed" do
    result = in_child(timeout: 60) do |cluster|
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      failing = true
      WaterdropFd::Native::Poller.prepend(Module.new do
        define_method(:register) do |*args|
          if failing
            failing = false
            raise Errno::EMFILE, "pipe2"
          end
          super(*args)
        end
      end)
      produce_twice(cluster, producer)
    end

    expect(result).to eq([["Errno::EMFILE", "Too many open files - pipe2"], 0, "closed", 0])
  end
end
