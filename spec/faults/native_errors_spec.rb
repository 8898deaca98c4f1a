# frozen_string_literal: true

require "spec_helper"

# What the native layer can fail with reaches the user as WaterDrop says it: a failed
# produce is a ProduceError (announced on error.occurred) whose cause is a WaterdropFd::Error,
# an out-of-range field is a MessageInvalidError before anything is sent, and a produce that
# raced close is a ProducerClosedError. Each scenario runs in its own child process.
RSpec.describe "Native errors in the WaterDrop family", timeout: 120 do
  it "refuses a partition or timestamp librdkafka cannot take as an invalid message, on every produce path" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("ranges", partitions: 1)
      producer = child_producer(cluster)
      errors = []
      producer.monitor.subscribe("error.occurred") { |e| errors << e[:type] }
      outcomes = [
        [:produce_sync, { topic: "ranges", payload: "x", partition: 2**31 }],
        [:produce_async, { topic: "ranges", payload: "x", partition: 2**40 }],
        [:produce_sync, { topic: "ranges", payload: "x", timestamp: 2**63 }],
        [:produce_async, { topic: "ranges", payload: "x", timestamp: Time.at(2**62) }],
        [:produce_many_sync, [{ topic: "ranges", payload: "x", partition: 2**31 }]],
        [:produce_many_async, [{ topic: "ranges", payload: "x", timestamp: -(2**63) - 1 }]]
      ].map do |call, argument|
        producer.public_send(call, argument)
        [call, :accepted]
      rescue StandardError => e
        [call, e.class.name, e.message]
      end
      offset = producer.produce_sync(topic: "ranges", payload: "valid", partition: 0).offset
      producer.close
      [outcomes, errors, offset]
    end

    outcomes, errors, offset = result
    partition = '{:partition=>"must be at most 2147483647 (a Kafka partition number is 32-bit)"}'
    timestamp = '{:timestamp=>"must fit in 64 bits as milliseconds since the epoch"}'
    expect(outcomes).to eq(
      [
        [:produce_sync, "WaterDrop::Errors::MessageInvalidError", partition],
        [:produce_async, "WaterDrop::Errors::MessageInvalidError", partition],
        [:produce_sync, "WaterDrop::Errors::MessageInvalidError", timestamp],
        [:produce_async, "WaterDrop::Errors::MessageInvalidError", timestamp],
        [:produce_many_sync, "WaterDrop::Errors::MessageInvalidError", partition],
        [:produce_many_async, "WaterDrop::Errors::MessageInvalidError", timestamp]
      ]
    )
    expect(errors).to eq([]) # nothing was sent: an invalid message is not a failed delivery
    expect(offset).to eq(0)
  end

  it "reports running out of file descriptors as a ProduceError caused by WaterdropFd::SystemError" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("fds", partitions: 1)
      producer = child_producer(cluster)
      events = []
      producer.monitor.subscribe("error.occurred") do |e|
        events << [e[:type], e[:error].class.name, e[:error].cause.class.name]
      end
      open_fds = Dir.children("/proc/self/fd").map(&:to_i)
      lowest_free = (0..).find { |fd| !open_fds.include?(fd) }
      soft, hard = Process.getrlimit(:NOFILE)
      Process.setrlimit(:NOFILE, lowest_free, hard) # no new fd from here on
      failure = begin
        producer.produce_sync(topic: "fds", payload: "no fds")
        nil
      rescue StandardError => e
        [e.class.name, e.cause.class.name, e.cause.message[/\Awaterdrop_fd: .*Too many open files/].nil?]
      ensure
        Process.setrlimit(:NOFILE, soft, hard)
      end
      offset = producer.produce_sync(topic: "fds", payload: "fds again").offset
      producer.close
      [failure, events, offset]
    end

    expect(result).to eq(
      [
        ["WaterDrop::Errors::ProduceError", "WaterdropFd::SystemError", false],
        [["message.produce_sync", "WaterDrop::Errors::ProduceError", "WaterdropFd::SystemError"]],
        0
      ]
    )
  end

  it "answers every produce call that raced close with ProducerClosedError only" do
    result = in_child(timeout: 90) do |cluster|
      cluster.create_topic("race", partitions: 1)
      calls = %i[produce_async produce_sync produce_many_async produce_many_sync]
      seen = Hash.new(0)
      20.times do |round|
        producer = child_producer(cluster)
        producer.produce_sync(topic: "race", payload: "connected")
        go = Queue.new
        threads = calls.map do |call|
          Thread.new do
            go.pop
            message = { topic: "race", payload: "x" }
            argument = call.to_s.include?("many") ? [message] * 3 : message
            loop { producer.public_send(call, argument) }
          rescue StandardError => e
            seen[[call, e.class.name]] += 1
          end
        end
        calls.size.times { go << true }
        sleep(0.001 * (round % 4)) # close at different points of the producing
        producer.close
        threads.each(&:join)
      end
      seen
    end

    expect(result).to eq(
      %i[produce_async produce_sync produce_many_async produce_many_sync].to_h do |call|
        [[call, "WaterDrop::Errors::ProducerClosedError"], 20]
      end
    )
  end
end
