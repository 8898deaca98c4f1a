# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Clients::Buffered do
  def buffered_producer(**kafka)
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": "127.0.0.1:1", **kafka }
      config.client_class = described_class
    end
  end

  after { @producer&.close }

  it "keeps every message it was given, per topic, until reset" do
    @producer = buffered_producer
    @producer.produce_sync(topic: "a", payload: "1", key: "k", headers: { "h" => "v" })
    @producer.produce_async(topic: :b, payload: "2")
    @producer.produce_many_sync([{ topic: "a", payload: "3" }])
    client = @producer.client
    expect(client.messages.map { |m| m[:payload] }).to eq(%w[1 2 3])
    expect(client.messages_for("a").map { |m| [m[:payload], m[:key], m[:headers]] })
      .to eq([["1", "k", { "h" => "v" }], ["3", nil, nil]])
    expect(client.messages_for(:b).size).to eq(1)
    client.reset
    expect(client.messages).to be_empty
  end

  it "shows a transaction's messages after commit only, and never those of an aborted one" do
    @producer = buffered_producer("transactional.id": "tx-buffered")
    client = @producer.client
    seen_inside = nil
    @producer.transaction do
      @producer.produce_sync(topic: "t", payload: "committed")
      seen_inside = client.messages.size
    end
    @producer.transaction do
      @producer.produce_sync(topic: "t", payload: "aborted")
      raise WaterDrop::AbortTransaction
    end
    expect(seen_inside).to eq(0)
    expect(client.messages.map { |m| m[:payload] }).to eq(%w[committed])
  end
end
