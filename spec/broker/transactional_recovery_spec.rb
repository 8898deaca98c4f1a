# frozen_string_literal: true

require "spec_helper"
require "open3"

# The real broker refuses a record larger than its limit (about 1 MB by default; the client
# accepts 2 MB): the transactional producer's next produce must succeed, as WaterDrop's does,
# and read_committed readers see the records after it exactly once.
RSpec.describe "A transactional producer after the broker refused a record", broker: true, timeout: 300 do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let(:topic) { "it-txnrec-#{SecureRandom.hex(6)}" }
  let(:producer) do
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers, "transactional.id": "it-txnrec-#{SecureRandom.hex(6)}",
                       "message.max.bytes": 2_100_000 }
      config.max_payload_size = 2_100_000
      config.logger = Logger.new(File::NULL)
    end
  end

  after { producer.close! }

  def read(isolation)
    out, err, status = Open3.capture3("kcat", "-b", servers, "-X", "isolation.level=#{isolation}", "-C", "-t", topic,
                                      "-o", "beginning", "-e", "-q", "-f", "%s\n")
    raise "kcat failed: #{err}" unless status.success?

    out.lines.map(&:chomp).reject { |p| p.size > 100 }
  end

  it "delivers the next produce_sync and produce_async" do
    producer.produce_sync(topic: topic, payload: "before")
    expect { producer.produce_sync(topic: topic, payload: "x" * 1_500_000) }.to raise_error(WaterDrop::Errors::ProduceError) do |error|
      expect(error.cause.code).to eq(:msg_size_too_large)
    end

    sync = producer.produce_sync(topic: topic, payload: "after-sync")
    async = producer.produce_async(topic: topic, payload: "after-async").wait

    expect([sync.error, async.error]).to eq([nil, nil])
    expect(read("read_committed")).to eq(%w[before after-sync after-async])
  end
end
