# frozen_string_literal: true

require "spec_helper"

# `producer.with(...).transaction { producer.produce_async(...) }`: WaterDrop keeps the
# variant for the whole block, so produce calls on the producer itself use it.
RSpec.describe "A transaction opened through a variant" do
  let(:topic) { mock_topic }
  let(:producer) { build_producer(kafka: { "transactional.id": "variant-txn-#{SecureRandom.hex(4)}" }) }

  it "keeps the variant for every produce inside the block, and drops it after" do
    variant = producer.with(max_wait_timeout: 7_000, topic_config: { "message.timeout.ms": 4_000 })
    inside = []
    handles = variant.transaction do
      inside << producer.current_variant
      [producer.produce_async(topic: topic, payload: "a"), producer.produce_sync(topic: topic, payload: "b")]
    end

    expect(inside.map { |v| [v.default?, v.max_wait_timeout, v.topic_config] }).to eq(
      [[false, 7_000, { "message.timeout.ms": 4_000 }]]
    )
    expect(inside.first).to equal(variant)
    expect(handles.first.wait.error).to be_nil
    expect(handles.last.error).to be_nil
    expect(producer.current_variant).to be_default
  end
end
