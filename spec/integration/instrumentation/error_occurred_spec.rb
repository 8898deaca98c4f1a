# frozen_string_literal: true

require "spec_helper"

# error.occurred: every type the producer can report today, with its payload keys, and
# listeners that raise inside callbacks on the poller thread.
RSpec.describe "error.occurred" do
  let(:topic) { mock_topic }
  let(:errors) { Queue.new }
  let(:unreachable) { { "bootstrap.servers": "127.0.0.1:1" } }

  def watch_errors(producer)
    queue = errors
    producer.monitor.subscribe("error.occurred") { |event| queue << event }
    producer
  end

  # The next error.occurred of `type` (others are skipped).
  def next_error(type, timeout: 10)
    Timeout.timeout(timeout) do
      loop do
        event = errors.pop
        return event if event[:type] == type
      end
    end
  end

  def drain_errors
    Array.new(errors.size) { errors.pop }
  end

  describe "callbacks.<name>.error" do
    it "reports a raising message.acknowledged listener as callbacks.delivery.error and keeps delivering" do
      producer = watch_errors(build_producer)
      acknowledged = 0
      producer.monitor.subscribe("message.acknowledged") do
        acknowledged += 1
        raise KeyError, "listener bug"
      end
      producer.produce_sync(topic: topic, payload: "first")
      event = next_error("callbacks.delivery.error")
      expect(event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
      expect(event[:caller]).to be_a(WaterdropFd::Dispatcher)
      expect(event[:producer_id]).to eq(producer.id)
      expect(event[:error]).to be_a(KeyError).and(have_attributes(message: "listener bug"))

      reports = Array.new(5) { |i| producer.produce_sync(topic: topic, payload: "after-#{i}") }
      expect(reports.map(&:error)).to all(be_nil)
      expect(reports.map(&:offset)).to eq(reports.map(&:offset).sort)
      wait_until { acknowledged == 6 }
      Array.new(5) { next_error("callbacks.delivery.error") }
    end

    it "reports a raising librdkafka.error listener as callbacks.error.error" do
      producer = build_producer(kafka: unreachable)
      seen = Queue.new
      producer.monitor.subscribe("error.occurred") { |event| seen << event }
      producer.monitor.subscribe("error.occurred") do |event|
        raise ZeroDivisionError, "error listener bug" if event[:type] == "librdkafka.error"
      end
      producer.native_client
      event = Timeout.timeout(10) do
        loop do
          e = seen.pop
          break e if e[:type] == "callbacks.error.error"
        end
      end
      expect(event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
      expect(event[:error]).to be_a(ZeroDivisionError).and(have_attributes(message: "error listener bug"))
      expect(event[:caller]).to be_a(WaterdropFd::Dispatcher)
    end
  end

  describe "librdkafka.error" do
    it "carries the client's errors (here: brokers unreachable) with caller, producer_id, error and type" do
      producer = watch_errors(build_producer(kafka: unreachable))
      producer.native_client
      event = next_error("librdkafka.error")
      expect(event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
      expect(event[:producer_id]).to eq(producer.id)
      expect(event[:error]).to be_a(WaterdropFd::RdkafkaError)
      expect(event[:error].code).to be_a(Symbol)
      expect(event[:error].rdkafka_response).to be_a(Integer).and(be < 0)
      expect(event[:error].fatal?).to be(false)
    end
  end

  describe "librdkafka.dispatch_error and message.produce_sync" do
    it "reports a failed delivery twice: from the delivery report and from produce_sync" do
      producer = watch_errors(build_producer)
      producer.produce_sync(topic: topic, payload: "warm-up")
      mock_cluster.push_request_errors(0, 10) # Produce -> MESSAGE_TOO_LARGE, not retriable
      label = Object.new
      message = { topic: topic, payload: "rejected", label: label }
      expect { producer.produce_sync(message) }.to raise_error(WaterDrop::Errors::ProduceError) do |error|
        expect(error.cause).to be_a(WaterdropFd::RdkafkaError).and(have_attributes(code: :msg_size_too_large))
        expect(error.message).to include("msg_size_too_large")
      end

      dispatch = next_error("librdkafka.dispatch_error")
      expect(dispatch.payload.keys).to contain_exactly(
        :caller, :producer_id, :offset, :partition, :topic, :delivery_report, :label, :error, :type
      )
      expect(dispatch[:caller]).to be_a(WaterdropFd::Dispatcher)
      expect(dispatch[:topic]).to eq(topic)
      expect(dispatch[:partition]).to eq(0)
      expect(dispatch[:offset]).to eq(-1)
      expect(dispatch[:label]).to equal(label)
      expect(dispatch[:error]).to be_a(WaterdropFd::RdkafkaError).and(have_attributes(code: :msg_size_too_large, rdkafka_response: 10))
      report = dispatch[:delivery_report]
      expect(report).to be_a(WaterdropFd::DeliveryReport)
      expect(report).to have_attributes(topic_name: topic, partition: 0, offset: -1, error: 10, label: label)

      sync = next_error("message.produce_sync")
      expect(sync.payload.keys).to contain_exactly(:producer_id, :message, :error, :type)
      expect(sync[:message]).to eq(message)
      expect(sync[:error]).to be_a(WaterDrop::Errors::ProduceError)
      expect(sync[:error].cause).to be_a(WaterdropFd::RdkafkaError)
      expect { sync[:messages] }.to raise_error(KeyError)
    end

    it "reports only the delivery report for produce_async" do
      producer = watch_errors(build_producer)
      producer.produce_sync(topic: topic, payload: "warm-up")
      mock_cluster.push_request_errors(0, 10)
      handle = producer.produce_async(topic: topic, payload: "rejected")
      expect(handle.wait(raise_response_error: false).error).to be_a(WaterdropFd::RdkafkaError)
      expect(next_error("librdkafka.dispatch_error")[:error].code).to eq(:msg_size_too_large)
      sleep 0.1
      expect(drain_errors.map { |e| e[:type] }).not_to include("message.produce_async")
    end

    it "reports messages purged by close! as dispatch errors (not message.purged) for a non-transactional producer" do
      producer = watch_errors(build_producer(kafka: unreachable))
      purged = Queue.new
      producer.monitor.subscribe("message.purged") { |event| purged << event }
      handle = producer.produce_async(topic: "never-delivered", payload: "x")
      producer.close!
      expect(handle.wait(raise_response_error: false).error.code).to eq(:purge_queue)
      event = next_error("librdkafka.dispatch_error")
      expect(event[:error].code).to eq(:purge_queue)
      expect(purged).to be_empty
    end
  end

  describe "message.purged" do
    it "reports a transactional producer's messages purged by an abort as message.purged, not as an error" do
      producer = watch_errors(build_producer(kafka: { "transactional.id": "purge-spec-#{SecureRandom.hex(4)}" }))
      purged = Queue.new
      producer.monitor.subscribe("message.purged") { |event| purged << event }
      producer.produce_sync(topic: topic, payload: "warm-up")
      (1..3).each { |id| mock_cluster.set_rtt(id, 500) } # keeps the next message unsent at abort
      handle = nil
      producer.transaction do
        handle = producer.produce_async(topic: topic, payload: "aborted", label: :mine)
        raise WaterDrop::AbortTransaction
      end
      expect(handle.wait(raise_response_error: false).error.code).to eq(:purge_queue)
      event = Timeout.timeout(10) { purged.pop }
      expect(event.payload.keys).to contain_exactly(
        :caller, :producer_id, :offset, :partition, :topic, :delivery_report, :label, :error, :type
      )
      expect(event[:type]).to eq("librdkafka.dispatch_error")
      expect(event[:error]).to be_a(WaterdropFd::RdkafkaError).and(have_attributes(code: :purge_queue))
      expect(event[:label]).to eq(:mine)
      expect(drain_errors.map { |e| e[:type] }).not_to include("librdkafka.dispatch_error")
    ensure
      (1..3).each { |id| mock_cluster.set_rtt(id, 0) }
    end
  end

  describe "queue full" do
    let(:full_queue) { unreachable.merge("queue.buffering.max.messages": 1) }

    it "instruments every wait as message.produce_async, then raises ProduceError with the queue_full cause" do
      producer = watch_errors(
        build_producer(kafka: full_queue, wait_timeout_on_queue_full: 300, wait_backoff_on_queue_full: 50)
      )
      producer.produce_async(topic: "t", payload: "fills the queue")
      message = { topic: "t", payload: "waits" }
      expect { producer.produce_async(message) }.to raise_error(WaterDrop::Errors::ProduceError) do |error|
        expect(error.cause).to be_a(WaterdropFd::RdkafkaError).and(have_attributes(code: :queue_full))
      end
      events = drain_errors.select { |e| e[:type] == "message.produce_async" }
      expect(events.size).to be >= 3 # a few retries, then the final failure
      events.each do |event|
        expect(event.payload.keys).to contain_exactly(:producer_id, :message, :error, :type)
        expect(event[:message]).to eq(message)
        expect(event[:error]).to be_a(WaterDrop::Errors::ProduceError)
        expect(event[:error].cause.code).to eq(:queue_full)
      end
    end

    it "reports only the final failure with instrument_on_wait_queue_full false" do
      producer = watch_errors(
        build_producer(kafka: full_queue, wait_timeout_on_queue_full: 200, wait_backoff_on_queue_full: 20,
                       instrument_on_wait_queue_full: false)
      )
      producer.produce_async(topic: "t", payload: "fills the queue")
      expect { producer.produce_sync(topic: "t", payload: "waits") }.to raise_error(WaterDrop::Errors::ProduceError)
      expect(drain_errors.map { |e| e[:type] }.grep(/\Amessage\./)).to eq(["message.produce_sync"])
    end

    it "reports produce_many_async failures as messages.produce_many_async with the dispatched handles" do
      producer = watch_errors(build_producer(kafka: full_queue, wait_on_queue_full: false))
      messages = Array.new(3) { |i| { topic: "t", payload: i.to_s } }
      expect { producer.produce_many_async(messages) }.to raise_error(WaterDrop::Errors::ProduceManyError) do |error|
        expect(error.dispatched.size).to eq(1)
        expect(error.cause.code).to eq(:queue_full)
      end
      event = next_error("messages.produce_many_async")
      expect(event.payload.keys).to contain_exactly(:producer_id, :messages, :dispatched, :error, :type)
      expect(event[:messages]).to eq(messages)
      expect(event[:dispatched]).to all(be_a(WaterdropFd::DeliveryHandle))
      expect(event[:dispatched].size).to eq(1)
      expect(event[:error]).to be_a(WaterDrop::Errors::ProduceManyError)
    end
  end

  describe "poller.polling_loop" do
    it "reports an exception in the poller loop to its producers, and the poller recovers" do
      poller = WaterDrop::Polling::Poller.new
      producer = watch_errors(build_producer(polling: { poller: poller }))
      producer.produce_sync(topic: topic, payload: "before")
      thread = Thread.list.find { |t| t.name == "waterdrop.poller##{poller.id}" }
      thread.raise(IOError, "injected into the poller")
      event = next_error("poller.polling_loop")
      expect(event.payload.keys).to contain_exactly(:producer_id, :error, :type)
      expect(event[:producer_id]).to eq(producer.id)
      expect(event[:error]).to be_a(IOError).and(have_attributes(message: "injected into the poller"))
      expect(producer.produce_sync(topic: topic, payload: "after").error).to be_nil
    end
  end
end
