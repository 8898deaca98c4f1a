# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Tags do
  subject(:tags) { described_class.new }

  it "starts empty" do
    expect(tags.to_a).to eq([])
  end

  describe "#add" do
    it "stores the value as a String and returns it" do
      expect(tags.add(:role, :payments)).to eq("payments")
      expect(tags.add(:shard, 3)).to eq("3")
      expect(tags.to_a).to eq(%w[payments 3])
    end

    it "replaces the value of a name that exists, keeping its place" do
      tags.add(:role, "a")
      tags.add(:region, "eu")
      tags.add(:role, "b")
      expect(tags.to_a).to eq(%w[b eu])
    end
  end

  describe "#to_a" do
    it "lists each value once" do
      tags.add(:one, "same")
      tags.add(:two, "same")
      tags.add(:three, "other")
      expect(tags.to_a).to eq(%w[same other])
    end

    it "returns a copy the caller may change" do
      tags.add(:a, "x")
      tags.to_a << "y"
      expect(tags.to_a).to eq(%w[x])
    end
  end

  describe "#delete" do
    it "removes one tag and returns its value" do
      tags.add(:a, "x")
      tags.add(:b, "y")
      expect(tags.delete(:a)).to eq("x")
      expect(tags.to_a).to eq(%w[y])
    end

    it "returns nil for an unknown name" do
      expect(tags.delete(:missing)).to be_nil
    end
  end

  describe "#clear" do
    it "removes every tag" do
      tags.add(:a, "x")
      tags.add(:b, "y")
      expect(tags.clear).to be_nil
      expect(tags.to_a).to eq([])
    end
  end

  it "serialises to a JSON array of the values" do
    tags.add(:a, "x")
    tags.add(:b, 2)
    expect(tags.as_json).to eq(%w[x 2])
    expect(tags.to_json).to eq('["x","2"]')
    expect(JSON.generate({ tags: tags })).to eq('{"tags":["x","2"]}')
  end

  it "keeps every tag added from many threads" do
    Array.new(8) { |t| Thread.new { 100.times { |i| tags.add(:"t#{t}-#{i}", "#{t}-#{i}") } } }.each(&:join)
    expect(tags.to_a.size).to eq(800)
  end

  it "is what WaterDrop::Producer#tags returns, one per producer" do
    producer = WaterDrop::Producer.new
    expect(producer.tags).to be_a(described_class)
    expect(producer.tags).to equal(producer.tags)
    expect(WaterDrop::Producer.new.tags).not_to equal(producer.tags)
    producer.tags.add(:name, "orders")
    expect(producer.tags.to_a).to eq(%w[orders])
  end
end
