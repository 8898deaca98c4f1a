# frozen_string_literal: true

require "spec_helper"
require "stringio"

RSpec.describe WaterDrop::Instrumentation::LoggerListener do
  subject(:listener) { described_class.new(logger) }

  let(:io) { StringIO.new }
  let(:logger) do
    Logger.new(io, level: Logger::DEBUG).tap do |l|
      l.formatter = ->(severity, _time, _progname, line) { "#{severity} #{line}\n" }
    end
  end
  let(:message) { { topic: "events", payload: "hi" } }
  let(:messages) { [{ topic: "a", payload: "1" }, { topic: "b", payload: "2" }, { topic: "a", payload: "3" }] }

  def event(id, payload)
    WaterDrop::Instrumentation::Event.new(id, { producer_id: "p1" }.merge(payload))
  end

  def lines = io.string.lines.map(&:chomp)

  it "logs message.produced_async with the topic, time and (debug) the message" do
    listener.on_message_produced_async(event("message.produced_async", message: message, time: 1.23456))
    expect(lines).to eq([
      "INFO [p1] Message to 'events' topic was delegated to a dispatch queue took 1.23 ms",
      "DEBUG [p1] #{message}"
    ])
  end

  it "logs message.produced_sync" do
    listener.on_message_produced_sync(event("message.produced_sync", message: message, time: 2.0))
    expect(lines.first).to eq("INFO [p1] Sync producing of a message to 'events' topic took 2.0 ms")
  end

  it "logs messages.produced_async and _sync with message and distinct topic counts" do
    listener.on_messages_produced_async(event("messages.produced_async", messages: messages, time: 1.0))
    listener.on_messages_produced_sync(event("messages.produced_sync", messages: messages, time: 1.0))
    expect(lines.grep(/INFO/)).to eq([
      "INFO [p1] 3 messages to 2 topics were delegated to a dispatch queue took 1.0 ms",
      "INFO [p1] Sync producing of 3 messages to 2 topics took 1.0 ms"
    ])
    expect(lines.grep(/DEBUG/)).to eq(["DEBUG [p1] #{messages}"] * 2)
  end

  it "logs buffering, with the message(s) at debug level" do
    listener.on_message_buffered(event("message.buffered", message: message, buffer: [message], time: 0.5))
    listener.on_messages_buffered(event("messages.buffered", messages: messages, buffer: messages, time: 0.5))
    expect(lines).to eq([
      "INFO [p1] Buffering of a message to 'events' topic took 0.5 ms",
      "DEBUG [p1] #{[message]}",
      "INFO [p1] Buffering of 3 messages took 0.5 ms",
      "DEBUG [p1] #{[messages, 3]}"
    ])
  end

  it "logs buffer flushes and purges" do
    listener.on_buffer_flushed_async(event("buffer.flushed_async", messages: messages, time: 1.0))
    listener.on_buffer_flushed_sync(event("buffer.flushed_sync", messages: messages, time: 1.0))
    listener.on_buffer_purged(event("buffer.purged", time: 1.0))
    expect(lines.grep(/INFO/)).to eq([
      "INFO [p1] Async flushing of 3 messages from the buffer took 1.0 ms",
      "INFO [p1] Sync flushing of 3 messages from the buffer took 1.0 ms",
      "INFO [p1] Successfully purging buffer took 1.0 ms"
    ])
  end

  it "logs the producer lifecycle (without ' took' when the event has no time)" do
    listener.on_producer_closing(event("producer.closing", {}))
    listener.on_producer_closed(event("producer.closed", time: 12.345))
    listener.on_producer_disconnecting(event("producer.disconnecting", {}))
    listener.on_producer_disconnected(event("producer.disconnected", time: 3.0))
    listener.on_producer_reloaded(event("producer.reloaded", attempt: 1, time: 4.0))
    expect(lines).to eq([
      "INFO [p1] Closing producer",
      "INFO [p1] Closing producer took 12.35 ms",
      "INFO [p1] Disconnecting producer",
      "INFO [p1] Disconnected producer took 3.0 ms",
      "INFO [p1] Producer successfully reloaded took 4.0 ms"
    ])
  end

  it "logs error.occurred at error level with the error and the type" do
    error = WaterDrop::Errors::ProduceError.new("boom")
    listener.on_error_occurred(event("error.occurred", error: error, type: "message.produce_sync"))
    expect(lines).to eq(["ERROR [p1] Error occurred: boom - message.produce_sync"])
  end

  it "logs transactions" do
    consumed = Struct.new(:topic, :partition, :offset).new("in", 2, 41)
    listener.on_transaction_started(event("transaction.started", time: 1.0))
    listener.on_transaction_committed(event("transaction.committed", time: 1.0))
    listener.on_transaction_aborted(event("transaction.aborted", time: 1.0))
    listener.on_transaction_marked_as_consumed(
      event("transaction.marked_as_consumed", message: consumed, offset_metadata: nil, time: 1.0)
    )
    listener.on_transaction_finished(event("transaction.finished", time: 1.0))
    expect(lines).to eq([
      "INFO [p1] Starting transaction took 1.0 ms",
      "INFO [p1] Committing transaction took 1.0 ms",
      "INFO [p1] Aborting transaction took 1.0 ms",
      "INFO [p1] Marking message with offset 41 on in-2 as consumed in a transaction took 1.0 ms",
      "INFO [p1] Processing transaction took 1.0 ms"
    ])
  end

  context "with log_messages: false" do
    subject(:listener) { described_class.new(logger, log_messages: false) }

    it "logs no message contents" do
      listener.on_message_produced_sync(event("message.produced_sync", message: message, time: 1.0))
      listener.on_messages_buffered(event("messages.buffered", messages: messages, buffer: messages, time: 1.0))
      expect(lines.grep(/DEBUG/)).to be_empty
      expect(lines.size).to eq(2)
    end
  end

  it "subscribes to every per-producer event it has a handler for" do
    monitor = WaterDrop::Instrumentation::Monitor.new
    monitor.subscribe(listener)
    handled = described_class.public_instance_methods(false).grep(/\Aon_/).map { |m| m.to_s.delete_prefix("on_") }
    expect(handled.size).to eq(20)
    expect(handled).to all(satisfy { |name| monitor.listening?(name.sub("_", ".")) })
  end
end
