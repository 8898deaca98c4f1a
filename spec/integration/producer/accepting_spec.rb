# frozen_string_literal: true

require "spec_helper"

# Once `close` began, the native client refuses the produce fast path on its own (an explicit
# flag that `close` clears), instead of relying on the Ruby side never reaching it: a message
# that got in then could be handed to librdkafka after the final flush.
RSpec.describe "A closing producer's native client" do
  let(:topic) { mock_topic }

  it "refuses fast-path produces from the moment close begins" do
    producer = build_producer
    producer.produce_sync(topic: topic, payload: "connect")
    native = producer.native_client
    seen = {}
    producer.monitor.subscribe("producer.closing") do
      seen[:single] = native.try_produce({ topic: topic, payload: "late" }, 1_000_000)
      handles = []
      seen[:batch] = native.produce_batch([{ topic: topic, payload: "late batch" }], 0, 1, 1_000_000, handles)
      seen[:handles] = handles.size
    end

    producer.close

    expect(seen).to eq(single: nil, batch: 0, handles: 0)
  end
end
