# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Clients::Dummy do
  # Nothing listens on this address: a producer that tried to reach it would fail.
  let(:nowhere) { "127.0.0.1:1" }

  def dummy_producer(**settings)
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": nowhere, "message.timeout.ms": 1_000 }
      settings.each { |key, value| config.public_send(:"#{key}=", value) }
    end
  end

  after { @producer&.close }

  it "is what a producer with deliver = false uses: nothing is sent, every message is delivered at once" do
    @producer = dummy_producer(deliver: false)
    threads_before = Thread.list.size
    first = @producer.produce_sync(topic: "events", payload: "a", label: :first)
    second = @producer.produce_sync(topic: "events", payload: "b")
    other = @producer.produce_async(topic: "events", payload: "c", partition: 2).wait
    expect(@producer.client).to be_a(described_class)
    expect([first.topic_name, first.partition, first.offset, first.error, first.label])
      .to eq(["events", 0, 0, nil, :first])
    expect([second.partition, second.offset]).to eq([0, 1])
    expect([other.partition, other.offset]).to eq([2, 0])
    # No poller thread, no librdkafka client.
    expect(Thread.list.size).to eq(threads_before)
    expect(@producer.queue_size).to eq(0)
    expect(@producer.flush).to be(true)
  end

  it "completes produce_many_sync, buffers, tombstones and transactions" do
    @producer = dummy_producer(deliver: false)
    handles = @producer.produce_many_sync(Array.new(3) { |i| { topic: "many", payload: i.to_s } })
    expect(handles.map { |h| h.create_result.offset }).to eq([0, 1, 2])
    @producer.buffer(topic: "many", payload: "buffered")
    expect(@producer.flush_sync.map(&:offset)).to eq([3])
    expect(@producer.tombstone_sync(topic: "many", key: "k", partition: 0).offset).to eq(4)
  end

  it "runs transactions of a transactional producer without a broker" do
    @producer = dummy_producer(deliver: false, kafka: { "bootstrap.servers": nowhere, "transactional.id": "tx-dummy" })
    events = []
    @producer.monitor.subscribe("transaction.committed") { events << :committed }
    @producer.monitor.subscribe("transaction.aborted") { events << :aborted }
    offset = @producer.transaction { @producer.produce_sync(topic: "tx", payload: "in").offset }
    @producer.transaction do
      @producer.produce_async(topic: "tx", payload: "dropped")
      raise WaterDrop::AbortTransaction
    end
    expect(offset).to eq(0)
    expect(events).to eq(%i[committed aborted])
  end

  it "can be chosen with client_class" do
    @producer = dummy_producer(client_class: described_class)
    expect(@producer.produce_sync(topic: "chosen", payload: "x").offset).to eq(0)
    expect(@producer.client).to be_a(described_class)
  end

  it "refuses a nil client_class with the field named" do
    expect { dummy_producer(client_class: nil) }
      .to raise_error(WaterDrop::Errors::ConfigurationInvalidError, /client_class/)
  end

  it "still validates messages" do
    @producer = dummy_producer(deliver: false)
    expect { @producer.produce_sync(topic: "", payload: "x") }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, /topic/)
  end

  it "closes, and refuses to produce once closed" do
    @producer = dummy_producer(deliver: false)
    @producer.produce_sync(topic: "c", payload: "x")
    @producer.close
    expect(@producer.status.closed?).to be(true)
    expect { @producer.produce_sync(topic: "c", payload: "y") }.to raise_error(WaterDrop::Errors::ProducerClosedError)
  end
end
