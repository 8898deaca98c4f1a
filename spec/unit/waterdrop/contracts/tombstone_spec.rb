# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Contracts::Tombstone do
  subject(:contract) { described_class.new }

  def expect_invalid(message, errors)
    expect { contract.validate!(message) }
      .to raise_error(WaterDrop::Errors::MessageInvalidError, errors.inspect)
  end

  it "accepts a non-empty String key and a partition >= 0" do
    expect(contract.errors(topic: "t", key: "k", partition: 0)).to eq({})
    expect { contract.validate!({ topic: "t", key: "k", partition: 3 }) }.not_to raise_error
  end

  it "requires the key" do
    expect_invalid({ topic: "t", partition: 0 }, { key: "must be present" })
  end

  it "requires the partition" do
    expect_invalid({ topic: "t", key: "k" }, { partition: "must be present" })
  end

  it "reports both missing fields at once" do
    expect_invalid({ topic: "t" }, { key: "must be present", partition: "must be present" })
  end

  [nil, "", 1, :k].each do |key|
    it "rejects the key #{key.inspect}" do
      expect_invalid({ topic: "t", key: key, partition: 0 }, { key: "must be a non-empty string" })
    end
  end

  [nil, -1, "0", 1.0].each do |partition|
    it "rejects the partition #{partition.inspect}" do
      expect_invalid({ topic: "t", key: "k", partition: partition }, { partition: "must be an integer greater or equal to 0" })
    end
  end

  it "rejects something that is not a Hash" do
    expect_invalid("tombstone", { message: "must be a hash" })
  end
end
