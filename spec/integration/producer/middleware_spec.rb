# frozen_string_literal: true

require "spec_helper"

# Middleware on every produce path, against the mock cluster.
RSpec.describe "WaterDrop::Producer middleware" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic }

  it "transforms messages before they are written" do
    producer.middleware.append(->(m) { m.merge(payload: "#{m[:payload]}-1") })
    producer.middleware.append(->(m) { m.merge(payload: "#{m[:payload]}-2") })
    producer.middleware.prepend(->(m) { m.merge(payload: "#{m[:payload]}-0") })
    producer.produce_sync(topic: topic, payload: "x")
    expect(kcat_read(topic, "%s")).to eq(["x-0-1-2"])
  end

  it "runs before validation, so it can make an invalid message valid" do
    producer.middleware.append(->(m) { m.merge(topic: topic, payload: m[:payload].to_s) })
    report = producer.produce_sync(topic: "not a valid topic!", payload: 42)
    expect(report.topic_name).to eq(topic)
    expect(kcat_read(topic, "%s")).to eq(["42"])
  end

  it "runs before validation, so it can make a valid message invalid" do
    producer.middleware.append(->(m) { m.merge(key: "") })
    expect { producer.produce_async(topic: topic, payload: "x") }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, { key: "must be a non-empty string" }.inspect)
  end

  it "runs on every message of produce_many_sync and produce_many_async" do
    producer.middleware.append(->(m) { m.merge(headers: { "mw" => "yes" }) })
    producer.produce_many_sync([{ topic: topic, payload: "a" }, { topic: topic, payload: "b" }])
    producer.produce_many_async([{ topic: topic, payload: "c" }]).each(&:wait)
    expect(kcat_read(topic, "%s:%h")).to eq(["a:mw=yes", "b:mw=yes", "c:mw=yes"])
  end

  it "instruments the message the middleware returned" do
    events = []
    producer.monitor.subscribe("message.produced_sync") { |e| events << e }
    producer.middleware.append(->(m) { m.merge(key: "added") })
    producer.produce_sync(topic: topic, payload: "x")
    expect(events.first[:message]).to include(key: "added")
  end

  it "lets a middleware exception reach the caller without sending anything" do
    producer.middleware.append(->(_m) { raise ArgumentError, "rejected by middleware" })
    expect { producer.produce_sync(topic: topic, payload: "x") }.to raise_error(ArgumentError, "rejected by middleware")
    expect(producer.status).to be_configured
  end
end
