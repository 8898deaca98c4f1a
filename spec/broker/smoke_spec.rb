# frozen_string_literal: true

require "spec_helper"
require "open3"

# Runs against a real Apache Kafka (bin/kafka start; KAFKA_BOOTSTRAP_SERVERS set).
RSpec.describe "Producing to a real Kafka broker", broker: true do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let(:topic) { "it-smoke-#{SecureRandom.hex(4)}" }
  let(:producer) do
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers, "request.required.acks": "all" }
    end
  end

  after { producer.close }

  it "delivers through the FD poller and reports consecutive offsets" do
    first = producer.produce_sync(topic: topic, payload: "one", label: :first)
    expect(first.offset).to eq(0)
    expect(first.partition).to eq(0)
    expect(first.label).to eq(:first)

    handles = producer.produce_many_sync(Array.new(9) { |i| { topic: topic, payload: "m#{i}" } })
    expect(handles.map { |h| h.wait.offset }).to eq((1..9).to_a)
  end

  it "writes what a consumer reads back" do
    payloads = Array.new(5) { |i| "payload-#{i}" }
    payloads.each { |p| producer.produce_async(topic: topic, payload: p) }
    expect(producer.flush(30_000)).to be(true)

    out, err, status = Open3.capture3("kcat", "-b", servers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                                      "-f", "%o:%s\n")
    expect(status).to be_success, err
    expect(out.lines.map(&:chomp)).to eq(payloads.each_with_index.map { |p, i| "#{i}:#{p}" })
  end
end
