# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop::Producer::Buffer" do
  let(:producer) { build_producer }
  let(:topic) { mock_topic }

  def events_of(name)
    list = []
    producer.monitor.subscribe(name) { |event| list << event }
    list
  end

  # Makes the producer learn the topic's partitions, so an unknown partition fails inline.
  def warm_up
    producer.produce_sync(topic: topic, payload: "warm-up")
  end

  describe "#buffer" do
    it "returns the buffer with the message appended, sending nothing" do
      message = { topic: topic, payload: "a" }
      result = producer.buffer(message)
      expect(result).to equal(producer.messages)
      expect(producer.messages).to eq([message])
      expect(producer.messages.first).to equal(message)
      expect(producer.status).to be_configured
    end

    it "neither validates nor runs middleware" do
      calls = 0
      producer.middleware.append(->(m) { calls += 1 and m })
      producer.buffer({ topic: "not valid!", payload: 1 })
      expect(calls).to eq(0)
      expect(producer.messages.size).to eq(1)
      producer.messages.clear
    end

    it "instruments message.buffered with producer_id, message, buffer and time" do
      events = events_of("message.buffered")
      message = { topic: topic, payload: "a" }
      producer.buffer(message)
      expect(events.size).to eq(1)
      payload = events.first.payload
      expect(payload.keys).to contain_exactly(:producer_id, :message, :buffer, :time)
      expect(payload[:producer_id]).to eq(producer.id)
      expect(payload[:message]).to equal(message)
      expect(payload[:buffer]).to equal(producer.messages)
      expect(payload[:time]).to be_a(Float)
    end
  end

  describe "#buffer_many" do
    it "returns the given messages and appends them in order" do
      first = { topic: topic, payload: "0" }
      producer.buffer(first)
      messages = [{ topic: topic, payload: "1" }, { topic: topic, payload: "2" }]
      expect(producer.buffer_many(messages)).to equal(messages)
      expect(producer.messages.map { |m| m[:payload] }).to eq(%w[0 1 2])
    end

    it "instruments messages.buffered with producer_id, messages, buffer and time" do
      events = events_of("messages.buffered")
      messages = [{ topic: topic, payload: "1" }]
      producer.buffer_many(messages)
      payload = events.first.payload
      expect(payload.keys).to contain_exactly(:producer_id, :messages, :buffer, :time)
      expect(payload[:producer_id]).to eq(producer.id)
      expect(payload[:messages]).to equal(messages)
      expect(payload[:buffer]).to equal(producer.messages)
      expect(payload[:time]).to be_a(Float)
    end
  end

  describe "#flush_sync" do
    it "returns [] when nothing is buffered" do
      expect(producer.flush_sync).to eq([])
      expect(producer.status).to be_configured
    end

    it "delivers the buffer in order, empties it and returns completed handles" do
      producer.buffer_many(Array.new(3) { |i| { topic: topic, payload: "m#{i}" } })
      handles = producer.flush_sync
      expect(handles.size).to eq(3)
      expect(handles).to all(be_a(WaterdropFd::DeliveryHandle))
      expect(handles.map(&:pending?)).to eq([false, false, false])
      expect(handles.map { |h| h.create_result.offset }).to eq([0, 1, 2])
      expect(producer.messages).to be_empty
      expect(kcat_read(topic, "%s")).to eq(%w[m0 m1 m2])
    end

    it "instruments buffer.flushed_sync with producer_id, the flushed messages and time" do
      events = events_of("buffer.flushed_sync")
      messages = [{ topic: topic, payload: "x" }]
      producer.buffer_many(messages)
      producer.flush_sync
      payload = events.first.payload
      expect(payload.keys).to contain_exactly(:producer_id, :messages, :time)
      expect(payload[:producer_id]).to eq(producer.id)
      expect(payload[:messages]).to eq(messages)
      expect(payload[:time]).to be_a(Float)
    end

    it "produces through produce_many_sync (messages.produced_sync)" do
      events = events_of("messages.produced_sync")
      producer.buffer(topic: topic, payload: "x")
      producer.flush_sync
      expect(events.first[:messages].map { |m| m[:payload] }).to eq(%w[x])
    end

    it "runs middleware at flush time, once per message" do
      calls = 0
      producer.middleware.append(->(m) { calls += 1 and m.merge(payload: m[:payload].upcase) })
      producer.buffer_many([{ topic: topic, payload: "a" }, { topic: topic, payload: "b" }])
      expect(calls).to eq(0)
      producer.flush_sync
      expect(calls).to eq(2)
      expect(kcat_read(topic, "%s")).to eq(%w[A B])
    end

    it "validates at flush time: nothing is sent and the whole buffer is kept" do
      good = { topic: topic, payload: "good" }
      bad = { topic: topic, payload: 42 }
      producer.buffer_many([good, bad])
      expect { producer.flush_sync }
        .to raise_error(WaterDrop::Errors::MessageInvalidError, { payload: "must be string or nil" }.inspect)
      expect(producer.messages).to eq([good, bad])
      expect(producer.status).to be_configured
    end

    it "puts the messages that did not reach librdkafka back at the front of the buffer" do
      warm_up
      errors = events_of("error.occurred")
      producer.buffer_many(
        [
          { topic: topic, payload: "sent" },
          { topic: topic, payload: "bad partition", partition: 7 },
          { topic: topic, payload: "after" }
        ]
      )
      expect { producer.flush_sync }.to raise_error(WaterDrop::Errors::ProduceManyError) { |e|
        expect(e.dispatched.size).to eq(1)
        expect(e.cause).to be_a(WaterdropFd::RdkafkaError)
        expect(e.cause.code).to eq(:unknown_partition)
      }
      expect(producer.messages.map { |m| m[:payload] }).to eq(["bad partition", "after"])
      expect(errors.map { |e| e[:type] }).to include("messages.produce_many_sync")
      wait_until { kcat_read(topic, "%s") == %w[warm-up sent] }
    end

    it "keeps messages buffered during a failed flush after the re-buffered ones" do
      warm_up
      buffered_during_flush = false
      producer.middleware.append(lambda do |m|
        unless buffered_during_flush
          buffered_during_flush = true
          producer.buffer(topic: topic, payload: "meanwhile")
        end
        m
      end)
      producer.buffer_many([{ topic: topic, payload: "ok" }, { topic: topic, payload: "x", partition: 9 }])
      expect { producer.flush_sync }.to raise_error(WaterDrop::Errors::ProduceManyError)
      expect(producer.messages.map { |m| m[:payload] }).to eq(%w[x meanwhile])
    end
  end

  describe "#flush_async" do
    it "returns [] when nothing is buffered" do
      expect(producer.flush_async).to eq([])
    end

    it "returns handles to wait on and empties the buffer" do
      producer.buffer_many(Array.new(4) { |i| { topic: topic, payload: i.to_s } })
      handles = producer.flush_async
      expect(producer.messages).to be_empty
      expect(handles.size).to eq(4)
      expect(handles.map { |h| h.wait.offset }).to eq([0, 1, 2, 3])
    end

    it "instruments buffer.flushed_async with producer_id, the flushed messages and time" do
      events = events_of("buffer.flushed_async")
      messages = [{ topic: topic, payload: "x" }, { topic: topic, payload: "y" }]
      producer.buffer_many(messages)
      producer.flush_async.each(&:wait)
      payload = events.first.payload
      expect(payload.keys).to contain_exactly(:producer_id, :messages, :time)
      expect(payload[:producer_id]).to eq(producer.id)
      expect(payload[:messages]).to eq(messages)
      expect(payload[:time]).to be_a(Float)
    end

    it "re-buffers what was not dispatched when a dispatch fails" do
      warm_up
      errors = events_of("error.occurred")
      producer.buffer_many([{ topic: topic, payload: "x", partition: 3 }, { topic: topic, payload: "y" }])
      expect { producer.flush_async }.to raise_error(WaterDrop::Errors::ProduceManyError) { |e|
        expect(e.dispatched).to eq([])
      }
      expect(producer.messages.map { |m| m[:payload] }).to eq(%w[x y])
      expect(errors.map { |e| e[:type] }).to include("messages.produce_many_async")
    end

    it "keeps the whole buffer when a message is invalid" do
      messages = [{ topic: topic, payload: "a" }, { topic: "", payload: "b" }]
      producer.buffer_many(messages)
      expect { producer.flush_async }
        .to raise_error(WaterDrop::Errors::MessageInvalidError, { topic: "does not match the topic allowed format" }.inspect)
      expect(producer.messages).to eq(messages)
    end
  end

  it "loses and duplicates nothing when many threads buffer while others flush" do
    threads = Array.new(6) do |t|
      Thread.new do
        200.times do |i|
          if i.even?
            producer.buffer(topic: topic, payload: "#{t}-#{i}")
          else
            producer.buffer_many([{ topic: topic, payload: "#{t}-#{i}" }])
          end
        end
      end
    end
    flusher = Thread.new do
      handles = []
      handles.concat(producer.flush_async) while threads.any?(&:alive?)
      handles
    end
    threads.each(&:join)
    handles = flusher.value + producer.flush_sync
    handles.each { |h| h.wait(max_wait_timeout_ms: 30_000) }
    expect(handles.size).to eq(1_200)
    payloads = kcat_read(topic, "%s")
    expect(payloads.size).to eq(1_200)
    expect(payloads.uniq.size).to eq(1_200)
  end

  describe "on close" do
    it "delivers what is still buffered" do
      producer.produce_sync(topic: topic, payload: "first")
      producer.buffer_many([{ topic: topic, payload: "b1" }, { topic: topic, payload: "b2" }])
      producer.close
      expect(producer.status).to be_closed
      expect(producer.messages).to be_empty
      expect(kcat_read(topic, "%s")).to eq(%w[first b1 b2])
    end

    it "connects to deliver the buffer of a producer that never connected, then closes" do
      connected = events_of("producer.connected")
      producer.buffer(topic: topic, payload: "only")
      producer.close
      expect(connected.size).to eq(1)
      expect(producer.status).to be_closed
      expect(kcat_read(topic, "%s")).to eq(%w[only])
    end

    it "still closes when the buffer holds an invalid message" do
      producer.buffer(topic: topic, payload: :not_a_string)
      producer.close
      expect(producer.status).to be_closed
    end
  end

  describe "through a variant" do
    it "flushes with the variant's settings" do
      seen = []
      producer.middleware.append(->(m) { seen << producer.current_variant.max_wait_timeout and m })
      variant = producer.with(max_wait_timeout: 12_345)
      variant.buffer(topic: topic, payload: "v")
      variant.flush_sync
      expect(seen).to eq([12_345])
    end
  end
end
