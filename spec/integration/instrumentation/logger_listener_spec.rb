# frozen_string_literal: true

require "spec_helper"
require "stringio"

RSpec.describe WaterDrop::Instrumentation::LoggerListener do
  let(:io) { StringIO.new }
  let(:logger) do
    Logger.new(io, level: Logger::DEBUG).tap do |l|
      l.formatter = ->(severity, _time, _progname, line) { "#{severity} #{line}\n" }
    end
  end
  let(:topic) { mock_topic }

  it "logs a real producer's work in WaterDrop's format" do
    producer = build_producer
    producer.monitor.subscribe(described_class.new(logger))
    producer.produce_sync(topic: topic, payload: "one")
    producer.produce_async(topic: topic, payload: "two").wait
    producer.produce_many_sync([{ topic: topic, payload: "a" }, { topic: topic, payload: "b" }])
    producer.close
    lines = io.string.lines.map(&:chomp)
    id = Regexp.escape(producer.id)
    expect(lines).to include(
      a_string_matching(/\AINFO \[#{id}\] Sync producing of a message to '#{topic}' topic took \d+\.?\d* ms\z/),
      a_string_matching(/\AINFO \[#{id}\] Message to '#{topic}' topic was delegated to a dispatch queue took [\d.]+ ms\z/),
      a_string_matching(/\AINFO \[#{id}\] Sync producing of 2 messages to 1 topics took [\d.]+ ms\z/),
      "INFO [#{producer.id}] Closing producer",
      a_string_matching(/\AINFO \[#{id}\] Closing producer took [\d.]+ ms\z/)
    )
    expect(lines).to include(a_string_starting_with("DEBUG [#{producer.id}] {").and(including('"one"')))
  end

  it "logs a failed delivery at error level" do
    producer = build_producer
    producer.monitor.subscribe(described_class.new(logger, log_messages: false))
    producer.produce_sync(topic: topic, payload: "warm-up")
    mock_cluster.push_request_errors(0, 10)
    expect { producer.produce_sync(topic: topic, payload: "x") }.to raise_error(WaterDrop::Errors::ProduceError)
    wait_until { io.string.include?("librdkafka.dispatch_error") }
    errors = io.string.lines.grep(/\AERROR/).map(&:chomp)
    expect(errors).to include(
      "ERROR [#{producer.id}] Error occurred: Broker: Message size too large (msg_size_too_large) - librdkafka.dispatch_error",
      a_string_ending_with("(msg_size_too_large)> - message.produce_sync")
    )
    expect(io.string).not_to include("DEBUG")
  end
end
