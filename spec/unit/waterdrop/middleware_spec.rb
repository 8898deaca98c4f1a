# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Middleware do
  subject(:middleware) { described_class.new }

  let(:upcase) { ->(m) { m.merge(payload: m[:payload].upcase) } }
  let(:exclaim) { ->(m) { m.merge(payload: "#{m[:payload]}!") } }

  it "returns the message unchanged when it has no steps" do
    message = { topic: "t", payload: "x" }
    expect(middleware.run(message)).to equal(message)
    expect(middleware.run_many([message])).to eq([message])
  end

  it "runs appended steps in order, each on the previous step's result" do
    middleware.append(upcase)
    middleware.append(exclaim)
    expect(middleware.run({ payload: "hi" })).to eq({ payload: "HI!" })
  end

  it "runs a prepended step first" do
    middleware.append(upcase)
    middleware.prepend(exclaim)
    expect(middleware.run({ payload: "hi" })).to eq({ payload: "HI!" })
    middleware.prepend(->(m) { m.merge(payload: "#{m[:payload]}?") })
    expect(middleware.run({ payload: "hi" })).to eq({ payload: "HI?!" })
  end

  it "returns the steps from append and prepend" do
    expect(middleware.append(upcase)).to eq([upcase])
    expect(middleware.prepend(exclaim)).to eq([exclaim, upcase])
  end

  it "accepts any object with #call" do
    step = Class.new { def call(message) = message.merge(seen: true) }.new
    middleware.append(step)
    expect(middleware.run({})).to eq({ seen: true })
  end

  it "runs every step on each message with #run_many, keeping the order" do
    middleware.append(upcase)
    expect(middleware.run_many([{ payload: "a" }, { payload: "b" }])).to eq([{ payload: "A" }, { payload: "B" }])
  end

  it "lets exceptions from a step reach the caller" do
    middleware.append(->(_m) { raise ArgumentError, "nope" })
    expect { middleware.run({}) }.to raise_error(ArgumentError, "nope")
  end

  it "is safe to change while other threads run it" do
    runners = Array.new(4) { Thread.new { 500.times { middleware.run({ payload: "x" }) } } }
    50.times { middleware.append(->(m) { m }) }
    runners.each(&:join)
    expect(middleware.run({ payload: "x" })).to eq({ payload: "x" })
  end

  it "is the producer's config.middleware" do
    producer = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": "127.0.0.1:1" } }
    expect(producer.middleware).to be_a(described_class)
    expect(producer.middleware).to equal(producer.config.middleware)
  end
end
