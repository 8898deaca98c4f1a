# frozen_string_literal: true

require "spec_helper"

# Listeners run on the poller thread. A call made there that waits for delivery reports
# would wait for the very thread that serves them (DESIGN.md rule 13b): every producer of
# the poller would stall until the wait timed out, and then fail a message that gets
# delivered. Such calls fail at once with WaterdropFd::PollerThreadWaitError instead, before
# anything is produced; waits that need nothing from this thread still work.
#
# Each scenario runs in its own child process with a bound on time: a hang fails one example.
RSpec.describe "Waiting from a listener on the poller thread", timeout: 120 do
  let(:message_prefix) do
    "was called from a listener on the poller thread (waterdrop.poller#0), and it would wait for " \
      "delivery reports that only this thread serves"
  end

  # Runs `call` inside the producer's `message.acknowledged` listener (so on the poller
  # thread), then checks from the main thread that the poller still serves the producer.
  # @return [Hash] :outcome of the call (value, or error class, message, cause class), :after
  #   the offset of a produce_sync made afterwards, and whatever `call` put in :extra
  def from_listener(cluster, kafka: {}, prepare: nil, &call)
    topic = "waits"
    cluster.create_topic(topic, partitions: 1)
    producer = child_producer(cluster, kafka: kafka, max_wait_timeout: 3_000)
    extra = {}
    results = Queue.new
    producer.monitor.subscribe("message.acknowledged") do |event|
      next unless event[:label] == :trigger

      begin
        results << [:returned, call.call(producer, topic, extra)]
      rescue Exception => e # rubocop:disable Lint/RescueException
        results << [:raised, e.class.name, e.message, e.cause&.class&.name]
      end
    end
    prepare&.call(producer, topic, extra)
    producer.produce_sync(topic: topic, payload: "trigger", label: :trigger)
    outcome = Timeout.timeout(30) { results.pop }
    after = producer.produce_sync(topic: topic, payload: "after").offset
    extra[:handle_offset] = extra.delete(:handle).wait(max_wait_timeout_ms: 10_000).offset if extra[:handle]
    extra[:handle_offsets] = extra.delete(:handles).map { |h| h.wait.offset } if extra[:handles]
    producer.close
    { outcome: outcome, after: after, extra: extra }
  end

  it "produce_sync raises ProduceError caused by PollerThreadWaitError at once, producing nothing" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) { |producer, topic| producer.produce_sync(topic: topic, payload: "nested").offset }
    end

    kind, klass, message, cause = result[:outcome]
    expect([kind, klass, cause]).to eq([:raised, "WaterDrop::Errors::ProduceError", "WaterdropFd::PollerThreadWaitError"])
    expect(message).to include("produce_sync #{message_prefix}")
    # Nothing was produced by the refused call: the next message takes offset 1.
    expect(result[:after]).to eq(1)
  end

  it "produce_many_sync raises PollerThreadWaitError at once, producing nothing" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) do |producer, topic|
        producer.produce_many_sync([{ topic: topic, payload: "a" }, { topic: topic, payload: "b" }]).size
      end
    end

    kind, klass, message, = result[:outcome]
    expect([kind, klass]).to eq([:raised, "WaterdropFd::PollerThreadWaitError"])
    expect(message).to start_with("produce_many_sync #{message_prefix}")
    expect(result[:after]).to eq(1)
  end

  it "DeliveryHandle#wait raises PollerThreadWaitError with the full explanation; the message is still delivered" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) do |producer, topic, extra|
        extra[:handle] = producer.produce_async(topic: topic, payload: "nested")
        extra[:handle].wait
      end
    end

    expect(result[:outcome]).to eq(
      [
        :raised, "WaterdropFd::PollerThreadWaitError",
        "DeliveryHandle#wait #{message_prefix}: every producer of this poller would stall until the " \
        "wait timed out, and the message would be delivered all the same. In a listener, use " \
        "produce_async or produce_many_async and wait for their handles on another thread, or hand " \
        "the work over to another thread.",
        nil
      ]
    )
    expect(result[:extra][:handle_offset]).to eq(1)
    expect(result[:after]).to eq(2)
  end

  it "DeliveryHandle.wait_all raises PollerThreadWaitError; the messages are still delivered" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) do |producer, topic, extra|
        extra[:handles] = producer.produce_many_async([{ topic: topic, payload: "a" }, { topic: topic, payload: "b" }])
        WaterdropFd::DeliveryHandle.wait_all(extra[:handles]).size
      end
    end

    kind, klass, message, = result[:outcome]
    expect([kind, klass]).to eq([:raised, "WaterdropFd::PollerThreadWaitError"])
    expect(message).to start_with("DeliveryHandle.wait_all #{message_prefix}")
    expect(result[:extra][:handle_offsets]).to eq([1, 2])
  end

  it "a wait for a report that arrived already returns it, also on the poller thread" do
    result = in_child(timeout: 60) do |cluster|
      prepare = lambda do |producer, topic, extra|
        extra[:early] = producer.produce_async(topic: topic, payload: "early")
        extra[:early].wait
      end
      from_listener(cluster, prepare: prepare) do |_producer, _topic, extra|
        early = extra.delete(:early)
        [early.wait.offset, WaterdropFd::DeliveryHandle.wait_all([early]).size]
      end
    end

    expect(result[:outcome]).to eq([:returned, [0, 1]])
    expect(result[:after]).to eq(2)
  end

  it "a wait of 0 ms only looks, also on the poller thread: WaitTimeoutError for a pending report" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) do |producer, topic, extra|
        extra[:handle] = producer.produce_async(topic: topic, payload: "looked at")
        extra[:handle].wait(max_wait_timeout_ms: 0)
      end
    end

    expect(result[:outcome]).to eq(
      [:raised, "WaterdropFd::WaitTimeoutError", "Waiting for delivery timed out after 0 ms", nil]
    )
    expect(result[:extra][:handle_offset]).to eq(1)
  end

  it "flush raises PollerThreadWaitError at once" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster) do |producer, topic|
        producer.produce_async(topic: topic, payload: "queued")
        producer.flush
      end
    end

    kind, klass, message, = result[:outcome]
    expect([kind, klass]).to eq([:raised, "WaterdropFd::PollerThreadWaitError"])
    expect(message).to start_with("flush #{message_prefix}")
  end

  it "transaction raises PollerThreadWaitError at once instead of waiting for its commit for ever" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster, kafka: { "transactional.id": "txn-listener" }) do |producer, topic|
        producer.transaction { producer.produce_async(topic: topic, payload: "in txn") }
        :committed
      end
    end

    kind, klass, message, = result[:outcome]
    expect([kind, klass]).to eq([:raised, "WaterdropFd::PollerThreadWaitError"])
    expect(message).to start_with("transaction #{message_prefix}")
  end

  it "produce_async of a transactional producer (a transaction of its own) raises ProduceError at once" do
    result = in_child(timeout: 60) do |cluster|
      from_listener(cluster, kafka: { "transactional.id": "txn-listener-async" }) do |producer, topic|
        producer.produce_async(topic: topic, payload: "own txn")
        :committed
      end
    end

    kind, klass, message, cause = result[:outcome]
    expect([kind, klass, cause]).to eq([:raised, "WaterDrop::Errors::ProduceError", "WaterdropFd::PollerThreadWaitError"])
    expect(message).to include("transaction #{message_prefix}")
  end

  it "a child forked from a listener is not on a poller thread: its produce_sync waits as usual" do
    result = in_child(timeout: 90) do |cluster|
      cluster.create_topic("fork-from-listener", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      forked = Queue.new
      producer.monitor.subscribe("message.acknowledged") do |event|
        next unless event[:label] == :fork

        forked << fork_child do
          # A broker of this process's own: the parent's mock cluster threads are not here.
          own = WaterdropFd::Testing::MockCluster.new(brokers: 1)
          own.create_topic("grandchild", partitions: 1)
          grandchild = child_producer(own, max_wait_timeout: 5_000)
          report = grandchild.produce_sync(topic: "grandchild", payload: "from the forked listener")
          grandchild.close
          report.offset.zero?
        end
      end
      producer.produce_sync(topic: "fork-from-listener", payload: "fork here", label: :fork)
      statuses = wait_children([forked.pop], timeout: 60)
      producer.close
      statuses.values
    end

    expect(result).to eq([0])
  end
end
