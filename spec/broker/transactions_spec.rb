# frozen_string_literal: true

require "spec_helper"
require "open3"

# Transactions against a real Apache Kafka (bin/kafka start; KAFKA_BOOTSTRAP_SERVERS set):
# what `read_committed` readers see, and offsets committed through a transaction. The mock
# cluster cannot check either.
RSpec.describe "Transactions on a real Kafka broker", broker: true do
  BrokerTxnMessage = Struct.new(:topic, :partition, :offset) unless defined?(BrokerTxnMessage)
  BrokerTxnGroup = Struct.new(:consumer_group_metadata) unless defined?(BrokerTxnGroup)

  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let(:topic) { "it-txn-#{SecureRandom.hex(6)}" }
  let(:transactional_id) { "it-txn-#{SecureRandom.hex(6)}" }
  let(:producers) { [] }

  def transactional_producer(id = transactional_id, **settings)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers, "transactional.id": id }
      config.wait_backoff_on_transaction_fatal_error = 10
      settings.each { |key, value| config.public_send(:"#{key}=", value) }
    end
    producers << producer
    producer
  end

  after { producers.each(&:close!) }

  def kcat(*args)
    out, err, status = Open3.capture3("kcat", "-b", servers, *args)
    raise "kcat #{args.join(" ")} failed: #{err}" unless status.success?

    out.lines.map(&:chomp)
  end

  # Every record of `topic` an `isolation.level` reader sees.
  def read(isolation)
    kcat("-X", "isolation.level=#{isolation}", "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n")
  end

  # What a new member of `group` reads: from the group's committed offset on (from the
  # start when nothing is committed). kcat commits what it read when it leaves, so read each
  # group once.
  def read_as_group(group)
    kcat("-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o:%s\n", topic)
  end

  it "shows committed messages exactly once and aborted ones never to read_committed readers" do
    producer = transactional_producer
    producer.transaction do
      producer.produce_sync(topic: topic, payload: "committed-1")
      producer.produce_async(topic: topic, payload: "committed-2")
    end
    producer.transaction do
      producer.produce_sync(topic: topic, payload: "aborted-1")
      raise WaterDrop::AbortTransaction
    end
    expect do
      producer.transaction do
        producer.produce_sync(topic: topic, payload: "aborted-2")
        raise ArgumentError, "rolled back"
      end
    end.to raise_error(ArgumentError)
    producer.produce_sync(topic: topic, payload: "committed-3")
    producer.produce_many_sync([{ topic: topic, payload: "committed-4" }, { topic: topic, payload: "committed-5" }])

    expect(read("read_committed")).to eq(%w[committed-1 committed-2 committed-3 committed-4 committed-5])
    # The aborted records were written, and hidden by the abort markers.
    expect(read("read_uncommitted")).to include("aborted-1", "aborted-2")
  end

  it "hides an early-exited transaction from read_committed readers" do
    producer = transactional_producer
    expect { producer.transaction { producer.produce_sync(topic: topic, payload: "left") && break } }
      .to raise_error(WaterDrop::Errors::EarlyTransactionExitNotAllowedError)
    producer.produce_sync(topic: topic, payload: "kept")
    expect(read("read_committed")).to eq(%w[kept])
  end

  it "commits the consumer group's offset (message.offset + 1) with the transaction, and nothing on abort" do
    seeder = WaterDrop::Producer.new { |config| config.kafka = { "bootstrap.servers": servers } }
    producers << seeder
    seeder.produce_many_sync(Array.new(5) { |i| { topic: topic, payload: "in-#{i}" } })
    committed, aborted, by_name = Array.new(3) { "it-group-#{SecureRandom.hex(6)}" }
    producer = transactional_producer

    producer.transaction do
      producer.produce_async(topic: "#{topic}-out", payload: "from in-1")
      producer.transaction_mark_as_consumed(
        BrokerTxnGroup.new({ group_id: committed, generation_id: -1 }), BrokerTxnMessage.new(topic, 0, 1), "checkpoint"
      )
    end
    producer.transaction do
      producer.transaction_mark_as_consumed(BrokerTxnGroup.new({ group_id: aborted }), BrokerTxnMessage.new(topic, 0, 3))
      raise WaterDrop::AbortTransaction
    end
    producer.transaction do
      producer.transaction_mark_as_consumed(BrokerTxnGroup.new(by_name), BrokerTxnMessage.new(topic, 0, 3))
    end

    expect(read_as_group(committed)).to eq(%w[2:in-2 3:in-3 4:in-4])
    expect(read_as_group(aborted)).to eq(%w[0:in-0 1:in-1 2:in-2 3:in-3 4:in-4])
    expect(read_as_group(by_name)).to eq(%w[4:in-4])
  end

  it "does not reload a fenced producer: the newer instance keeps working" do
    older = transactional_producer
    reloads = []
    older.monitor.subscribe("producer.reload") { |event| reloads << event }
    older.produce_sync(topic: topic, payload: "older-1")
    newer = transactional_producer(transactional_id)
    newer.produce_sync(topic: topic, payload: "newer-1")

    expect { older.produce_sync(topic: topic, payload: "older-2") }
      .to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause.code).to eq(:fenced) }
    expect(reloads).to be_empty
    newer.produce_sync(topic: topic, payload: "newer-2")
    expect(read("read_committed")).to eq(%w[older-1 newer-1 newer-2])
  end
end
