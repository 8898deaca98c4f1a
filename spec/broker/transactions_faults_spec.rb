# frozen_string_literal: true

require "spec_helper"
require "open3"
require "waterdrop/producer/testing"

# Transactions that fail half-way, against the real Apache Kafka (only it enforces
# read_committed): records written by a transaction that was aborted by an abortable error,
# or cut off by a fatal error and a reload, are never shown to a read_committed reader;
# what was committed around them is shown exactly once.
RSpec.describe "Transactions under faults on a real Kafka broker", broker: true, timeout: 300 do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let(:topic) { "it-txnf-#{SecureRandom.hex(6)}" }
  let(:producers) { [] }

  after { producers.each(&:close!) }

  def transactional_producer(**settings)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers, "transactional.id": "it-txnf-#{SecureRandom.hex(6)}",
                       **settings.delete(:kafka).to_h }
      config.logger = Logger.new(File::NULL)
      config.wait_backoff_on_transaction_fatal_error = 10
      settings.each { |key, value| config.public_send(:"#{key}=", value) }
    end
    producers << producer
    producer
  end

  def read(isolation)
    out, err, status = Open3.capture3("kcat", "-b", servers, "-X", "isolation.level=#{isolation}", "-C", "-t", topic,
                                      "-o", "beginning", "-e", "-q", "-f", "%s\n")
    raise "kcat failed: #{err}" unless status.success?

    out.lines.map(&:chomp)
  end

  it "hides a transaction aborted by the broker's refusal of one record (message too large)" do
    # The client accepts 2 MB; the broker's default limit is about 1 MB, so it refuses the
    # big record and the transaction can only abort.
    producer = transactional_producer(kafka: { "message.max.bytes": 2_100_000 }, max_payload_size: 2_100_000)
    producer.transaction { producer.produce_sync(topic: topic, payload: "before") }
    error = nil
    begin
      producer.transaction do
        producer.produce_sync(topic: topic, payload: "doomed-small")
        producer.produce_sync(topic: topic, payload: "x" * 1_500_000)
      end
    rescue StandardError => e
      error = e
    end
    # The refused record left a gap in the partition's sequence numbers. librdkafka finds it
    # on the next transaction, bumps the epoch and fails that transaction as abortable
    # (out_of_order_sequence_number; librdkafka #3575, WaterDrop #501): the application sees
    # the error and retries the unit of work, which then commits.
    next_errors = []
    attempts = 0
    begin
      attempts += 1
      producer.transaction do
        producer.produce_many_sync([{ topic: topic, payload: "after-1" }, { topic: topic, payload: "after-2" }])
      end
    rescue WaterdropFd::RdkafkaError, WaterDrop::Errors::ProduceError => e
      next_errors << (e.respond_to?(:code) ? e.code : e.cause&.code)
      retry if attempts < 3
    end
    committed = read("read_committed")
    uncommitted = read("read_uncommitted").map { |p| p.size > 100 ? "<#{p.size} bytes>" : p }
    puts "[broker txn/abortable] raised=#{error.class} cause=#{error&.cause&.code} next_attempts=#{attempts} " \
         "next_errors=#{next_errors} read_committed=#{committed} read_uncommitted=#{uncommitted}"
    expect(error).to be_a(WaterDrop::Errors::ProduceError)
    expect(error.cause.code).to eq(:msg_size_too_large)
    expect(next_errors).to all(eq(:out_of_order_sequence_number))
    expect(attempts).to be <= 2
    expect(committed).to eq(%w[before after-1 after-2])
    # The small record of the aborted transaction was written, and is hidden by the abort.
    expect(uncommitted).to include("doomed-small")
  end

  it "hides the records of a transaction cut off by a fatal error, and commits after the reload" do
    producer = transactional_producer
    producer.singleton_class.include(WaterDrop::Producer::Testing)
    reloaded = Queue.new
    producer.monitor.subscribe("producer.reloaded") { |e| reloaded << e[:attempt] }
    producer.transaction { producer.produce_sync(topic: topic, payload: "before") }
    error = nil
    begin
      producer.transaction do
        producer.produce_sync(topic: topic, payload: "cut-off")
        producer.trigger_test_fatal_error(47, "fatal in the middle of a transaction")
        producer.produce_sync(topic: topic, payload: "never")
      end
    rescue StandardError => e
      error = e
    end
    # The next transaction runs on a reloaded client with the same transactional.id: its
    # InitProducerId aborts what the old client left open.
    producer.transaction { producer.produce_sync(topic: topic, payload: "after") }
    committed = read("read_committed")
    uncommitted = read("read_uncommitted")
    puts "[broker txn/fatal] raised=#{error.class} cause=#{error&.cause&.code} reloads=#{reloaded.size} " \
         "read_committed=#{committed} read_uncommitted=#{uncommitted}"
    expect(error).to be_a(WaterDrop::Errors::ProduceError)
    expect(reloaded.size).to eq(1)
    expect(committed).to eq(%w[before after])
    expect(uncommitted).to include("cut-off")
    expect(uncommitted).not_to include("never")
  end
end
