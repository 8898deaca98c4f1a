# frozen_string_literal: true

require "spec_helper"

# Producer behaviour that needs no broker (nothing here connects).
RSpec.describe WaterDrop::Producer do
  let(:message) { { topic: "events", payload: "x" } }

  def configured_producer(id: nil)
    producer = described_class.new do |config|
      config.kafka = { "bootstrap.servers": "127.0.0.1:1" }
      config.id = id if id
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  describe "#setup" do
    it "configures a producer made without a block" do
      producer = described_class.new
      expect(producer.status).to be_initial
      expect(producer.setup { |c| c.kafka = { "bootstrap.servers": "127.0.0.1:1" } }).to equal(producer)
      expect(producer.status).to be_configured
      expect(producer.id).to eq(producer.config.id)
    end

    it "raises ProducerAlreadyConfiguredError (message: the id) on a second setup" do
      producer = configured_producer(id: "twice")
      expect { producer.setup { |c| c.kafka = { "bootstrap.servers": "x:1" } } }
        .to raise_error(WaterDrop::Errors::ProducerAlreadyConfiguredError, "twice")
      expect(producer.config.kafka[:"bootstrap.servers"]).to eq("127.0.0.1:1")
    end

    it "raises ProducerAlreadyConfiguredError after close too" do
      producer = configured_producer(id: "closed-one")
      producer.close
      expect { producer.setup { |c| c.kafka = { "bootstrap.servers": "x:1" } } }
        .to raise_error(WaterDrop::Errors::ProducerAlreadyConfiguredError, "closed-one")
    end
  end

  describe "before setup" do
    subject(:producer) { described_class.new }

    {
      produce_sync: [{ topic: "t", payload: "x" }],
      produce_async: [{ topic: "t", payload: "x" }],
      produce_many_sync: [[{ topic: "t", payload: "x" }]],
      produce_many_async: [[{ topic: "t", payload: "x" }]],
      buffer: [{ topic: "t", payload: "x" }],
      buffer_many: [[{ topic: "t", payload: "x" }]],
      tombstone_sync: [{ topic: "t", key: "k", partition: 0 }],
      tombstone_async: [{ topic: "t", key: "k", partition: 0 }],
      with: []
    }.each do |method, args|
      it "##{method} raises ProducerNotConfiguredError" do
        expect { producer.public_send(method, *args) }.to raise_error(WaterDrop::Errors::ProducerNotConfiguredError)
      end
    end

    it "is not disconnectable and does not disconnect" do
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(producer.status).to be_initial
    end
  end

  describe "after close" do
    subject(:producer) { configured_producer(id: "gone") }

    before { producer.close }

    it "is closed without ever connecting" do
      expect(producer.status).to be_closed
    end

    {
      produce_sync: [{ topic: "t", payload: "x" }],
      produce_async: [{ topic: "t", payload: "x" }],
      produce_many_sync: [[{ topic: "t", payload: "x" }]],
      produce_many_async: [[{ topic: "t", payload: "x" }]],
      buffer: [{ topic: "t", payload: "x" }],
      buffer_many: [[{ topic: "t", payload: "x" }]],
      tombstone_sync: [{ topic: "t", key: "k", partition: 0 }],
      tombstone_many_async: [[{ topic: "t", key: "k", partition: 0 }]],
      with: []
    }.each do |method, args|
      it "##{method} raises ProducerClosedError with the id" do
        expect { producer.public_send(method, *args) }.to raise_error(WaterDrop::Errors::ProducerClosedError, "gone")
      end
    end

    it "flush_sync and flush_async return [] (nothing buffered)" do
      expect(producer.flush_sync).to eq([])
      expect(producer.flush_async).to eq([])
    end

    it "is not disconnectable" do
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(producer.status).to be_closed
    end

    it "can be closed again" do
      expect { producer.close }.not_to raise_error
      expect(producer.status).to be_closed
    end
  end

  describe "ensure_active!" do
    subject(:producer) { configured_producer(id: "odd") }

    it "raises StatusInvalidError for a state outside the lifecycle" do
      allow(producer.status).to receive(:to_sym).and_return(:unknown)
      expect { producer.produce_async(message) }
        .to raise_error(WaterDrop::Errors::StatusInvalidError, '["odd", "unknown"]')
    end

    it "raises ProducerClosedError while another thread closes the producer" do
      producer.status.closing!
      expect { producer.buffer(message) }.to raise_error(WaterDrop::Errors::ProducerClosedError, "odd")
    end

    %i[configured connected disconnecting disconnected].each do |state|
      it "lets #{state} producers buffer" do
        producer.status.public_send(:"#{state}!")
        expect { producer.buffer(message) }.not_to raise_error
        producer.messages.clear
        producer.status.configured!
      end
    end
  end

  describe "#inspect" do
    subject(:producer) { configured_producer(id: "insp") }

    it "shows id, status, buffer size, connection and operations" do
      producer.buffer(message)
      expect(producer.inspect).to eq(
        "#<WaterDrop::Producer:#{format("%#x", producer.object_id)} id=\"insp\" status=configured " \
        "buffer_size=1 connected=false operations=0>"
      )
      producer.messages.clear
    end

    it "shows buffer_size=busy while another thread holds the buffer, without waiting" do
      locked = Queue.new
      release = Queue.new
      holder = Thread.new do
        producer.instance_variable_get(:@buffer_mutex).synchronize do
          locked << true
          release.pop
        end
      end
      locked.pop
      expect(producer.inspect).to include("buffer_size=busy")
      release << true
      holder.join
      expect(producer.inspect).to include("buffer_size=0")
    end

    it "shows in_transaction=true while the transaction lock is held" do
      mutex = producer.instance_variable_get(:@transaction_mutex)
      mutex.synchronize { expect(producer.inspect).to end_with(" operations=0 in_transaction=true>") }
      expect(producer.inspect).not_to include("in_transaction")
    end

    it "works before setup" do
      producer = described_class.new
      expect(producer.inspect).to eq(
        "#<WaterDrop::Producer:#{format("%#x", producer.object_id)} id=nil status=initial " \
        "buffer_size=0 connected=false operations=0>"
      )
    end
  end

  describe "#disconnect on a configured producer" do
    it "returns false and stays configured (nothing to disconnect)" do
      producer = configured_producer
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(producer.status).to be_configured
    end
  end

  describe "#tags" do
    it "is a WaterDrop::Tags owned by the producer" do
      producer = configured_producer
      producer.tags.add(:app, "billing")
      expect(producer.tags.to_a).to eq(%w[billing])
    end
  end
end
