# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop::Producer message headers" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic }

  it "writes String header values" do
    producer.produce_sync(topic: topic, payload: "x", headers: { "type" => "order", "version" => "2" })
    expect(kcat_read(topic, "%h")).to eq(["type=order,version=2"])
  end

  it "writes an Array value as one header per element, in order (KIP-82)" do
    producer.produce_sync(topic: topic, payload: "x", headers: { "tag" => %w[a b c], "single" => "s" })
    expect(kcat_read(topic, "%h")).to eq(["tag=a,tag=b,tag=c,single=s"])
  end

  it "writes headers from async, many and buffered produce" do
    producer.produce_async(topic: topic, payload: "1", headers: { "via" => "async" }).wait
    producer.produce_many_sync([{ topic: topic, payload: "2", headers: { "via" => %w[many list] } }])
    producer.buffer(topic: topic, payload: "3", headers: { "via" => "buffer" })
    producer.flush_sync
    expect(kcat_read(topic, "%h")).to eq(["via=async", "via=many,via=list", "via=buffer"])
  end

  it "writes no headers for nil or an empty Hash" do
    producer.produce_sync(topic: topic, payload: "1", headers: nil)
    producer.produce_sync(topic: topic, payload: "2", headers: {})
    expect(kcat_read(topic, "%s:%h")).to eq(["1:", "2:"])
  end

  it "keeps binary and UTF-8 values byte for byte" do
    producer.produce_sync(topic: topic, payload: "x", headers: { "name" => "zażółć" })
    expect(kcat_read(topic, "%h").first.force_encoding(Encoding::UTF_8)).to eq("name=zażółć")
  end

  it "rejects invalid headers with MessageInvalidError" do
    expect { producer.produce_sync(topic: topic, payload: "x", headers: { "n" => 1 }) }
      .to raise_error(
        WaterDrop::Errors::MessageInvalidError, { headers: "all headers values need to be strings or arrays of strings" }.inspect
      )
    expect { producer.produce_sync(topic: topic, payload: "x", headers: { n: "1" }) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, { headers: "all headers keys need to be of type String" }.inspect)
  end
end
