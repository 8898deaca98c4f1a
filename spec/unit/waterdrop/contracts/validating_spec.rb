# frozen_string_literal: true

require "spec_helper"

# karafka-core's `validate!(data, error_class, scope: [])`, which Karafka Pro's scheduled
# messages call on WaterDrop's message contract.
RSpec.describe WaterDrop::Contracts::Validating do
  let(:contract) { WaterDrop::Contracts::Message.new(max_payload_size: 100) }
  let(:custom_error) { Class.new(StandardError) }

  it "returns true for a valid message" do
    expect(contract.validate!({ topic: "t", payload: "p" })).to be(true)
    expect(contract.validate!({ topic: "t", payload: "p" }, custom_error, scope: %w[schedule])).to be(true)
  end

  it "raises MessageInvalidError with the problems by default" do
    expect { contract.validate!({ topic: "t" }) }.to raise_error(
      WaterDrop::Errors::MessageInvalidError, "{:payload=>\"must be present\"}"
    )
  end

  it "raises the given class, with every key under the scope" do
    expect { contract.validate!({ topic: "bad topic", payload: 1 }, custom_error, scope: ["schedule", :message]) }
      .to raise_error(
        custom_error,
        "{:\"schedule.message.topic\"=>\"does not match the topic allowed format\", " \
        ":\"schedule.message.payload\"=>\"must be string or nil\"}"
      )
  end

  it "is also the tombstone contract's" do
    tombstone = WaterDrop::Contracts::Tombstone.new
    expect { tombstone.validate!({ key: "k" }, WaterDrop::Errors::MessageInvalidError, scope: [:t]) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, "{:\"t.partition\"=>\"must be present\"}")
  end
end
