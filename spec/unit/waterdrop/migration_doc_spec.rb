# frozen_string_literal: true

require "spec_helper"

# docs/migrating-from-waterdrop.md and the code must agree on what exists.
RSpec.describe "docs/migrating-from-waterdrop.md" do
  let(:doc) { File.read(File.expand_path("../../../docs/migrating-from-waterdrop.md", __dir__)) }

  it "says Producer#client exists, and it does" do
    expect(doc).to include("`Producer#client` exists and returns the producer's client")
    expect(doc).not_to match(/Producer#client[^\n]*does not exist/)
    producer = WaterDrop::Producer.new do |config|
      config.deliver = false
      config.kafka = { "bootstrap.servers": "127.0.0.1:9" }
    end
    expect(producer.client).to be_a(WaterDrop::Clients::Dummy)
    producer.close
  end

  it "lists nothing as missing that the gem has" do
    %w[ConnectionPool MetricsListener gem_root Notifications].each do |name|
      expect(doc).not_to match(/(not there|does not exist|is missing)[^\n]*#{name}/i)
    end
    expect(defined?(WaterDrop::ConnectionPool)).to eq("constant")
    expect(WaterDrop).to respond_to(:gem_root)
  end
end
