# frozen_string_literal: true

require "spec_helper"
require "waterdrop/producer/testing"

# Recovery of idempotent (not transactional) producers from fatal errors, against the mock
# cluster, with fatal errors injected by librdkafka's rd_kafka_test_fatal_error.
RSpec.describe "WaterDrop::Producer idempotent fatal error reload" do
  let(:topic) { mock_topic }
  let(:settings) { { reload_on_idempotent_fatal_error: true } }
  let(:producer) do
    build_producer(
      kafka: { "enable.idempotence": true },
      wait_backoff_on_idempotent_fatal_error: 10,
      **settings
    )
  end

  before do
    producer.singleton_class.include(WaterDrop::Producer::Testing)
    producer.produce_sync(topic: topic, payload: "warm-up")
  end

  def record(*names)
    list = []
    names.each { |name| producer.monitor.subscribe(name) { |event| list << event } }
    list
  end

  def reload_events
    record("error.occurred", "producer.reload", "producer.reloaded")
  end

  it "rebuilds the client after a fatal error and delivers the next message" do
    events = reload_events
    old_client = producer.native_client
    expect(producer.trigger_test_fatal_error(47, "test")).to eq(0)
    expect(producer.fatal_error).to eq(error_code: 47, error_string: "test_fatal_error: test")

    report = producer.produce_sync(topic: topic, payload: "after")
    expect(report.offset).to eq(1)
    expect(producer.native_client).not_to equal(old_client)
    expect(producer.fatal_error).to be_nil
    expect(kcat_read(topic, "%s")).to eq(%w[warm-up after])

    fatal = events.select { |e| e.id == "error.occurred" && e[:type] == "librdkafka.idempotent_fatal_error" }
    expect(fatal.size).to eq(1)
    expect(fatal.first.payload.keys).to contain_exactly(:producer_id, :error, :type, :attempt)
    expect(fatal.first[:attempt]).to eq(1)
    expect(fatal.first[:error]).to be_fatal
    expect(fatal.first[:error].code).to eq(:invalid_producer_epoch)

    reload, reloaded = events.reject { |e| e.id == "error.occurred" }
    expect(reload.id).to eq("producer.reload")
    expect(reload.payload.keys).to contain_exactly(:producer_id, :error, :attempt, :caller)
    expect(reload[:caller]).to equal(producer)
    expect(reload[:producer_id]).to eq(producer.id)
    expect(reload[:attempt]).to eq(1)
    expect(reloaded.id).to eq("producer.reloaded")
    expect(reloaded.payload.keys).to contain_exactly(:producer_id, :attempt, :time)
    expect(producer.status).to be_connected
  end

  it "reloads for produce_async and produce_many_* too" do
    producer.trigger_test_fatal_error(47, "test")
    expect(producer.produce_async(topic: topic, payload: "a").wait.offset).to eq(1)
    producer.trigger_test_fatal_error(47, "test")
    handles = producer.produce_many_sync([{ topic: topic, payload: "b" }, { topic: topic, payload: "c" }])
    expect(handles.map { |h| h.wait.offset }).to eq([2, 3])
  end

  it "lets a producer.reload listener change the config of the new client" do
    producer.monitor.subscribe("producer.reload") { |event| event[:caller].config.kafka[:"client.id"] = "reloaded-app" }
    producer.trigger_test_fatal_error(47, "test")
    producer.produce_sync(topic: topic, payload: "x")
    expect(producer.native_client.name).to start_with("reloaded-app#")
  end

  it "reloads once when several threads hit the fatal error together" do
    events = record("producer.reload")
    producer.trigger_test_fatal_error(47, "test")
    threads = Array.new(6) do |t|
      Thread.new { Array.new(10) { |i| producer.produce_sync(topic: topic, payload: "#{t}-#{i}").offset } }
    end
    offsets = threads.flat_map(&:value)
    expect(offsets.size).to eq(60)
    expect(offsets.uniq.size).to eq(60)
    expect(events.size).to eq(1)
  end

  it "counts reloads in a row and resets the count after a successful dispatch" do
    events = record("producer.reload")
    producer.trigger_test_fatal_error(47, "one")
    producer.produce_sync(topic: topic, payload: "1")
    producer.trigger_test_fatal_error(47, "two")
    producer.produce_sync(topic: topic, payload: "2")
    expect(events.map { |e| e[:attempt] }).to eq([1, 1])
  end

  context "with max_attempts_on_idempotent_fatal_error reached" do
    let(:settings) { { reload_on_idempotent_fatal_error: true, max_attempts_on_idempotent_fatal_error: 2 } }

    it "raises after that many reloads in a row" do
      events = record("producer.reload")
      # Every new client fails at once: the reloads never help.
      producer.monitor.subscribe("producer.connected") { producer.trigger_test_fatal_error(47, "again") }
      producer.trigger_test_fatal_error(47, "first")
      expect { producer.produce_sync(topic: topic, payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause).to be_fatal }
      expect(events.map { |e| e[:attempt] }).to eq([1, 2])
    end
  end

  context "with the error code in non_reloadable_errors" do
    let(:settings) { { reload_on_idempotent_fatal_error: true, non_reloadable_errors: %i[invalid_producer_epoch] } }

    it "raises without reloading" do
      events = reload_events
      producer.trigger_test_fatal_error(47, "test")
      expect { producer.produce_sync(topic: topic, payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause.code).to eq(:invalid_producer_epoch) }
      expect(events.map(&:id)).not_to include("producer.reload")
    end
  end

  context "with reload_on_idempotent_fatal_error off (the default)" do
    let(:settings) { {} }

    it "raises the fatal error as a ProduceError and keeps the client" do
      events = reload_events
      client = producer.native_client
      producer.trigger_test_fatal_error(47, "test")
      expect { producer.produce_async(topic: topic, payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError) { |e|
          expect(e.cause).to be_a(WaterdropFd::RdkafkaError)
          expect(e.cause).to be_fatal
        }
      expect(events.map(&:id)).not_to include("producer.reload")
      expect(producer.native_client).to equal(client)
    end
  end

  context "with a producer that is not idempotent" do
    let(:producer) { build_producer(reload_on_idempotent_fatal_error: true) }

    it "does not reload" do
      events = reload_events
      client = producer.native_client
      producer.trigger_test_fatal_error(47, "test")
      begin
        producer.produce_sync(topic: topic, payload: "x")
      rescue WaterDrop::Errors::ProduceError
        # Whether librdkafka still accepts messages from a non-idempotent producer after a
        # fatal error is librdkafka's call; what matters here is that we do not reload.
        nil
      end
      expect(events.map(&:id)).not_to include("producer.reload")
      expect(producer.native_client).to equal(client)
    end
  end
end
