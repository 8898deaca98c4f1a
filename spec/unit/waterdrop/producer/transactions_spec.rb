# frozen_string_literal: true

require "spec_helper"

# The transaction, idempotence and testing API without a broker: flags and errors raised
# before any librdkafka call.
RSpec.describe WaterDrop::Producer::Transactions do
  def producer_with(kafka)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": "127.0.0.1:1" }.merge(kafka)
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  let(:plain) { producer_with({}) }
  let(:transactional) { producer_with("transactional.id": "unit-txn") }

  describe "#transactional?" do
    it "is true only with a transactional.id" do
      expect(plain.transactional?).to be(false)
      expect(transactional.transactional?).to be(true)
    end
  end

  describe "#idempotent?" do
    it "is true for transactional producers and with enable.idempotence" do
      expect(plain.idempotent?).to be(false)
      expect(transactional.idempotent?).to be(true)
      expect(producer_with("enable.idempotence": true).idempotent?).to be(true)
      expect(producer_with("enable.idempotence": "true").idempotent?).to be(true)
      expect(producer_with("enable.idempotence": false).idempotent?).to be(false)
    end
  end

  describe "#transaction" do
    it "raises ProducerNotTransactionalError naming the producer, without connecting" do
      expect { plain.transaction { raise "never runs" } }
        .to raise_error(WaterDrop::Errors::ProducerNotTransactionalError, "#{plain.id} is not transactional")
      expect(plain.status).to be_configured
    end

    it "treats a producer that is not set up yet as not transactional" do
      producer = WaterDrop::Producer.new
      expect(producer.transactional?).to be(false)
      expect(producer.idempotent?).to be(false)
      expect { producer.transaction { nil } }.to raise_error(WaterDrop::Errors::ProducerNotTransactionalError)
    end

    it "raises ProducerClosedError once closed" do
      transactional.close
      expect { transactional.transaction { nil } }.to raise_error(WaterDrop::Errors::ProducerClosedError)
    end
  end

  describe "#transaction?" do
    it "is false outside a transaction" do
      expect(transactional.transaction?).to be(false)
      expect(plain.transaction?).to be(false)
    end
  end

  describe "#transaction_mark_as_consumed" do
    it "raises TransactionRequiredError outside a transaction, before looking at its arguments" do
      expect { transactional.transaction_mark_as_consumed(nil, nil) }
        .to raise_error(WaterDrop::Errors::TransactionRequiredError, /inside producer.transaction/)
      expect { plain.transaction_mark_as_consumed(nil, nil) }
        .to raise_error(WaterDrop::Errors::TransactionRequiredError)
    end
  end

  describe "WaterDrop::Producer::Testing" do
    it "is opt-in: requiring it includes it nowhere" do
      require "waterdrop/producer/testing"
      expect(WaterDrop::Producer.ancestors).not_to include(WaterDrop::Producer::Testing)
      expect(WaterDrop::Producer::Testing.instance_methods).to contain_exactly(:trigger_test_fatal_error, :fatal_error)
    end

    it "can also be required by its waterdrop_fd path" do
      expect(require("waterdrop_fd/producer/testing")).to be(true).or be(false)
      expect(defined?(WaterDrop::Producer::Testing)).to eq("constant")
    end

    it "reports no fatal error on a healthy client and then the injected one" do
      require "waterdrop/producer/testing"
      plain.singleton_class.include(WaterDrop::Producer::Testing)
      expect(plain.fatal_error).to be_nil
      expect(plain.trigger_test_fatal_error(64, "unit")).to eq(0)
      expect(plain.fatal_error).to eq(error_code: 64, error_string: "test_fatal_error: unit")
      # A second fatal error is refused: the first one stays.
      expect(plain.trigger_test_fatal_error(47, "again")).to eq(-177)
      expect(plain.fatal_error[:error_code]).to eq(64)
    end
  end

  describe "WaterdropFd::Native::Producer#send_offsets_to_transaction" do
    let(:native) { plain.native_client }

    it "is refused by librdkafka for a producer without transactional.id" do
      expect { native.send_offsets_to_transaction(["g", -1, "", nil], [["t", 0, 1, "meta"]], 1_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:not_configured) }
    end

    it "is refused outside a transaction" do
      # A bare native client (never registered, never initialised): nothing here needs a broker.
      txn = WaterdropFd::Native::Producer.new(
        [%w[bootstrap.servers 127.0.0.1:1], %w[transactional.id unit-native]], Object.new, false
      )
      expect { txn.send_offsets_to_transaction(["g", 3, "member-1", "static-1"], [["t", 0, 1, nil]], 1_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:state) }
    ensure
      txn&.destroy
    end

    it "raises TypeError for malformed arguments" do
      expect { native.send_offsets_to_transaction(["g", "x", "", nil], [], 1_000) }.to raise_error(TypeError)
      expect { native.send_offsets_to_transaction(["g", -1, "", nil], [["t", "0", 1, nil]], 1_000) }
        .to raise_error(TypeError)
      expect { native.send_offsets_to_transaction(["g", -1, "", nil], [:bad], 1_000) }.to raise_error(TypeError)
    end

    it "refuses NUL bytes in names" do
      expect { native.send_offsets_to_transaction(["g\0", -1, "", nil], [["t", 0, 1, nil]], 1_000) }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e.code).to eq(:invalid_arg) }
    end
  end
end
