# frozen_string_literal: true

require "spec_helper"

# Variant settings and their validation (no broker needed: nothing connects).
RSpec.describe WaterDrop::Producer::Variant do
  def producer_with(kafka = {})
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": "127.0.0.1:1" }.merge(kafka)
      config.max_wait_timeout = 5_000
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  let(:producer) { producer_with }

  def expect_invalid(settings, errors, on: producer)
    expect { on.with(**settings) }.to raise_error(WaterDrop::Errors::VariantInvalidError, errors.inspect)
  end

  it "is built by #with and #variant, delegating to the producer" do
    variant = producer.with(max_wait_timeout: 10)
    expect(variant).to be_a(described_class)
    expect(producer.variant(max_wait_timeout: 10)).to be_a(described_class)
    expect(variant.producer).to equal(producer)
    expect(variant.id).to eq(producer.id)
    expect(variant.status).to equal(producer.status)
    expect(variant.default?).to be(false)
  end

  it "defaults to the producer's max_wait_timeout and no topic settings" do
    variant = producer.with
    expect(variant.max_wait_timeout).to eq(5_000)
    expect(variant.topic_config).to eq({})
  end

  it "keeps the given settings" do
    variant = producer.with(max_wait_timeout: 0, topic_config: { acks: 1, "compression.codec": "gzip" })
    expect(variant.max_wait_timeout).to eq(0)
    expect(variant.topic_config).to eq(acks: 1, "compression.codec": "gzip")
  end

  it "accepts every topic setting a variant may change" do
    settings = described_class::ALLOWED_TOPIC_CONFIG.to_h { |k| [k, "1"] }
    expect(producer.with(topic_config: settings).topic_config.keys).to eq(described_class::ALLOWED_TOPIC_CONFIG)
  end

  it "is the producer's default variant outside variant calls" do
    expect(producer.current_variant).to be_default
    expect(producer.current_variant.max_wait_timeout).to eq(5_000)
  end

  describe "validation (VariantInvalidError)" do
    it "max_wait_timeout must be a number >= 0" do
      expect_invalid({ max_wait_timeout: -1 }, { max_wait_timeout: "must be a number greater or equal to 0" })
      expect_invalid({ max_wait_timeout: "10" }, { max_wait_timeout: "must be a number greater or equal to 0" })
      expect_invalid({ max_wait_timeout: nil }, { max_wait_timeout: "must be a number greater or equal to 0" })
    end

    it "topic_config must be a Hash" do
      expect_invalid({ topic_config: [[:acks, 1]] }, { topic_config: "must be a hash" })
    end

    it "topic_config keys must be Symbols" do
      expect_invalid({ topic_config: { "acks" => 1 } }, { topic_config: "all keys need to be of type Symbol" })
    end

    it "topic_config may only hold per-topic settings a variant can change" do
      expect_invalid(
        { topic_config: { "linger.ms": 5, acks: 1, "batch.size": 1 } },
        { topic_config: "contains settings a variant cannot change: linger.ms, batch.size" }
      )
    end

    it "acks may not change on an idempotent producer" do
      idempotent = producer_with("enable.idempotence": true)
      expect_invalid(
        { topic_config: { acks: 1 } }, { topic_config: "acks cannot be changed for idempotent or transactional producers" },
        on: idempotent
      )
      expect_invalid(
        { topic_config: { "request.required.acks": 1 } },
        { topic_config: "acks cannot be changed for idempotent or transactional producers" }, on: idempotent
      )
      expect(idempotent.with(topic_config: { "compression.codec": "lz4" })).to be_a(described_class)
    end

    it "acks may not change on a transactional producer" do
      transactional = producer_with("transactional.id": "tx-variant-spec")
      expect_invalid(
        { topic_config: { acks: "all" } }, { topic_config: "acks cannot be changed for idempotent or transactional producers" },
        on: transactional
      )
    end

    it "reports both fields at once" do
      expect_invalid(
        { max_wait_timeout: -5, topic_config: "acks=1" },
        { max_wait_timeout: "must be a number greater or equal to 0", topic_config: "must be a hash" }
      )
    end

    it "rejects unknown settings with ArgumentError" do
      expect { producer.with(timeout: 1) }.to raise_error(ArgumentError, /timeout/)
    end
  end
end
