# frozen_string_literal: true

require "spec_helper"

# A transactional producer whose message the broker refuses (here: the mock broker answers
# the Produce request with MSG_SIZE_TOO_LARGE) must be able to produce again, as WaterDrop's
# is: the next transaction, which librdkafka ends because of the refused message's sequence
# gap, runs again once.
RSpec.describe "A transactional producer after the broker refused one message" do
  let(:topic) { mock_topic(partitions: 1) }
  let(:producer) do
    build_producer(kafka: { "transactional.id": "recovery-#{SecureRandom.hex(4)}" }, logger: Logger.new(File::NULL))
  end

  after { mock_cluster.clear_request_errors(0) }

  def refuse_next_message
    producer.produce_sync(topic: topic, payload: "before")
    mock_cluster.push_request_errors(0, 10) # Produce -> MSG_SIZE_TOO_LARGE
    expect { producer.produce_sync(topic: topic, payload: "refused") }.to raise_error(WaterDrop::Errors::ProduceError) do |error|
      expect(error.cause.code).to eq(:msg_size_too_large)
    end
  end

  it "delivers the next produce_sync, and every one after" do
    refuse_next_message
    reports = 3.times.map { |i| producer.produce_sync(topic: topic, payload: "after-#{i}") }
    expect(reports.map(&:error)).to eq([nil, nil, nil])
    expect(reports.map(&:offset)).to eq(reports.map(&:offset).sort)
  end

  it "delivers the next produce_async, and every one after" do
    refuse_next_message
    handles = 3.times.map { |i| producer.produce_async(topic: topic, payload: "after-#{i}") }
    expect(handles.map { |h| h.wait.error }).to eq([nil, nil, nil])
  end

  it "still fails an explicit transaction once (the application retries the unit of work)" do
    refuse_next_message
    expect do
      producer.transaction { producer.produce_sync(topic: topic, payload: "explicit") }
    end.to raise_error(WaterDrop::Errors::ProduceError) { |error| expect(error.cause.code).to eq(:purge_queue) }
    expect(producer.transaction { producer.produce_sync(topic: topic, payload: "explicit again") }.error).to be_nil
  end
end
