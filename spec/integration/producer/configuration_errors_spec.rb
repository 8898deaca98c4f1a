# frozen_string_literal: true

require "spec_helper"

# Settings librdkafka refuses reach the caller as configuration errors, as in WaterDrop
# (which raises rdkafka's ClientCreationError / ConfigError itself), not wrapped in
# ProduceError.
RSpec.describe "Configuration errors found when producing" do
  let(:topic) { mock_topic }

  it "raises ClientCreationError for a client librdkafka cannot build" do
    producer = build_producer(kafka: { "transactional.id": "no-idempotence", "enable.idempotence": false })
    expect { producer.produce_sync(topic: topic, payload: "x") }.to raise_error(
      WaterdropFd::ClientCreationError, "`transactional.id` requires `enable.idempotence=true`"
    )
    expect { producer.produce_many_sync([{ topic: topic, payload: "x" }]) }.to raise_error(WaterdropFd::ClientCreationError)
  end

  it "raises ConfigError for a variant's invalid topic setting" do
    producer = build_producer
    variant = producer.with(topic_config: { "message.timeout.ms": -1000 })
    message = 'Configuration property "message.timeout.ms" value -1000 is outside allowed range 0..2147483647'
    expect { variant.produce_sync(topic: topic, payload: "x") }.to raise_error(WaterdropFd::ConfigError, /\A#{Regexp.escape(message)}/)
    expect { variant.produce_async(topic: topic, payload: "x") }.to raise_error(WaterdropFd::ConfigError, /\A#{Regexp.escape(message)}/)
    expect { variant.produce_many_async([{ topic: topic, payload: "x" }]) }.to raise_error(WaterdropFd::ConfigError)
    expect(producer.produce_sync(topic: topic, payload: "default settings still work").error).to be_nil
  end
end
