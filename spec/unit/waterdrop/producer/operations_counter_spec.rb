# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Producer::OperationsCounter do
  subject(:counter) { described_class.new }

  it "starts at zero and counts up and down" do
    expect(counter.value).to eq(0)
    expect(counter.increment).to eq(1)
    expect(counter.increment).to eq(2)
    expect(counter.decrement).to eq(1)
    expect(counter.value).to eq(1)
  end

  it "returns at once from #wait_until_zero when nothing is in progress" do
    expect(counter.wait_until_zero).to be_nil
  end

  it "wakes a waiter when the last operation ends" do
    counter.increment
    counter.increment
    waiter = Thread.new { counter.wait_until_zero }
    wait_until { waiter.status == "sleep" }
    counter.decrement
    expect(waiter.join(0.2)).to be_nil
    counter.decrement
    expect(waiter.join(5)).to eq(waiter)
  end

  it "keeps an exact count under concurrent use" do
    Array.new(8) { Thread.new { 1_000.times { counter.increment && counter.decrement } } }.each(&:join)
    expect(counter.value).to eq(0)
  end
end
