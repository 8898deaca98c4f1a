# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Producer::Status do
  subject(:status) { described_class.new }

  it "starts as initial" do
    expect(status).to be_initial
    expect(status.to_sym).to eq(:initial)
    expect(status.to_s).to eq("initial")
  end

  it "lists the lifecycle in order" do
    expect(described_class::LIFECYCLE).to eq(%i[initial configured connected disconnecting disconnected closing closed])
  end

  described_class::LIFECYCLE.each do |state|
    it "moves to #{state} with #{state}! and answers only #{state}?" do
      status.public_send(:"#{state}!")
      expect(status.to_sym).to eq(state)
      expect(status.to_s).to eq(state.to_s)
      described_class::LIFECYCLE.each do |other|
        expect(status.public_send(:"#{other}?")).to be(other == state)
      end
    end
  end

  it "is active only when configured, connected, disconnecting or disconnected" do
    active = described_class::LIFECYCLE.select do |state|
      status.public_send(:"#{state}!")
      status.active?
    end
    expect(active).to eq(%i[configured connected disconnecting disconnected])
    expect(described_class::ACTIVE_STATES).to match_array(active)
  end
end
