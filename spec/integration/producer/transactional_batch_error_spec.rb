# frozen_string_literal: true

require "spec_helper"

# produce_many_sync on a transactional producer runs in a transaction of its own; when one
# message fails, the transaction is aborted and nothing was dispatched: WaterDrop reports
# `dispatched: []` in `error.occurred` (the error itself keeps the handles).
RSpec.describe "produce_many_sync in an implicit transaction with a failing message" do
  let(:topic) { mock_topic(partitions: 1) }
  let(:producer) { build_producer(kafka: { "transactional.id": "batch-#{SecureRandom.hex(4)}" }) }

  it "reports nothing dispatched, and the messages before the failure are purged" do
    producer.produce_sync(topic: topic, payload: "warm-up") # metadata known: the bad partition fails inline
    errors = []
    producer.monitor.subscribe("error.occurred") { |event| errors << event.payload if event[:type] == "messages.produce_many_sync" }

    messages = [{ topic: topic, payload: "first" }, { topic: topic, payload: "second", partition: 9 }]
    error = nil
    begin
      producer.produce_many_sync(messages)
    rescue WaterDrop::Errors::ProduceManyError => e
      error = e
    end

    expect(error).to be_a(WaterDrop::Errors::ProduceManyError)
    expect(errors.size).to eq(1)
    expect(errors.first[:dispatched]).to eq([])
    expect(errors.first[:messages]).to eq(messages)
    expect(error.dispatched.size).to eq(1)
    expect(error.dispatched.first.wait(raise_response_error: false).error.code).to eq(:purge_queue)
  end
end
