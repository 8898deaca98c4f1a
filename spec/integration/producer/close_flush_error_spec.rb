# frozen_string_literal: true

require "spec_helper"

# The final flush inside #close fails with something other than a produce error: the
# producer must still end closed (client destroyed, later use refused), and the caller
# sees the error.
RSpec.describe "WaterDrop::Producer#close when the final flush raises" do
  let(:topic) { mock_topic }

  it "ends closed and raises the flush's error" do
    producer = build_producer
    producer.produce_sync(topic: topic, payload: "connected")
    producer.middleware.append(->(message) { message[:payload] == "poison" ? raise(ArgumentError, "bad step") : message })
    producer.buffer(topic: topic, payload: "poison")
    events = []
    producer.monitor.subscribe("producer.closed") { |event| events << event.id }

    expect { producer.close }.to raise_error(ArgumentError, "bad step")
    expect(producer.status.to_s).to eq("closed")
    expect(events).to eq(["producer.closed"])
    expect(producer.queue_size).to eq(0)
    expect { producer.produce_sync(topic: topic, payload: "after") }.to raise_error(WaterDrop::Errors::ProducerClosedError)
    expect(producer.close).to be_nil # a second close has nothing left to do
  end
end
