# frozen_string_literal: true

require "spec_helper"

# Status, connect / disconnect / close, and their events, against the mock cluster.
RSpec.describe "WaterDrop::Producer lifecycle" do
  let(:topic) { mock_topic }
  let(:producer) { build_producer }

  def record(*names)
    list = []
    names.each { |name| producer.monitor.subscribe(name) { |event| list << event } }
    list
  end

  it "goes initial -> configured -> connected -> disconnecting -> disconnected -> connected -> closing -> closed" do
    producer = WaterDrop::Producer.new
    (@producers_to_close ||= []) << producer
    seen = [producer.status.to_sym]
    producer.setup { |c| c.kafka = { "bootstrap.servers": mock_cluster.bootstrap_servers } }
    seen << producer.status.to_sym
    %w[producer.disconnecting producer.closing].each do |name|
      producer.monitor.subscribe(name) { seen << producer.status.to_sym }
    end
    producer.produce_sync(topic: topic, payload: "1")
    seen << producer.status.to_sym
    expect(producer.disconnect).to be(true)
    seen << producer.status.to_sym
    producer.produce_sync(topic: topic, payload: "2")
    seen << producer.status.to_sym
    producer.close
    seen << producer.status.to_sym
    expect(seen).to eq(%i[initial configured connected disconnecting disconnected connected closing closed])
  end

  it "instruments producer.connected with the producer_id on each connect" do
    events = record("producer.connected")
    producer.produce_sync(topic: topic, payload: "1")
    producer.disconnect
    producer.produce_sync(topic: topic, payload: "2")
    expect(events.size).to eq(2)
    expect(events.map(&:payload)).to all(eq(producer_id: producer.id))
  end

  describe "#disconnect" do
    before { producer.produce_sync(topic: topic, payload: "warm-up") }

    it "returns true and instruments producer.disconnecting then producer.disconnected (with time)" do
      events = record("producer.disconnecting", "producer.disconnected")
      expect(producer.disconnect).to be(true)
      expect(events.map(&:id)).to eq(%w[producer.disconnecting producer.disconnected])
      expect(events[0].payload).to eq(producer_id: producer.id)
      expect(events[1].payload.keys).to contain_exactly(:producer_id, :time)
      expect(events[1][:producer_id]).to eq(producer.id)
      expect(events[1][:time]).to be_a(Float)
    end

    it "unregisters from the poller and destroys the client; the next use connects again" do
      events = record("poller.producer_unregistered", "poller.producer_registered")
      old_client = producer.native_client
      producer.disconnect
      expect(events.map(&:id)).to eq(%w[poller.producer_unregistered])
      expect(producer.queue_size).to eq(0)
      expect(producer.inspect).to include("status=disconnected", "connected=false")
      report = producer.produce_sync(topic: topic, payload: "again")
      expect(report.offset).to eq(1)
      expect(producer.native_client).not_to equal(old_client)
      expect(events.map(&:id)).to eq(%w[poller.producer_unregistered poller.producer_registered])
      expect(producer.status).to be_connected
    end

    it "delivers what librdkafka holds before disconnecting" do
      handles = Array.new(50) { |i| producer.produce_async(topic: topic, payload: i.to_s) }
      expect(producer.disconnect).to be(true)
      expect(handles.map(&:pending?).uniq).to eq([false])
      expect(handles.map { |h| h.wait.offset }).to eq((1..50).to_a)
    end

    it "returns false when already disconnected" do
      expect(producer.disconnect).to be(true)
      events = record("producer.disconnecting")
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(events).to be_empty
    end

    it "returns false while messages are buffered" do
      producer.buffer(topic: topic, payload: "pending")
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(producer.status).to be_connected
      producer.flush_sync
      expect(producer.disconnect).to be(true)
    end

    it "returns false while an operation is in progress" do
      counter = producer.instance_variable_get(:@operations_in_progress)
      counter.increment
      expect(producer.disconnectable?).to be(false)
      expect(producer.disconnect).to be(false)
      expect(producer.status).to be_connected
      counter.decrement
      expect(producer.disconnectable?).to be(true)
    end

    it "returns false while another thread holds the operating or transaction lock" do
      %i[@operating_mutex @transaction_mutex].each do |ivar|
        locked = Queue.new
        release = Queue.new
        holder = Thread.new do
          producer.instance_variable_get(ivar).synchronize do
            locked << true
            release.pop
          end
        end
        locked.pop
        expect(producer.disconnectable?).to be(false)
        expect(producer.disconnect).to be(false)
        release << true
        holder.join
      end
      expect(producer.status).to be_connected
    end

    it "returns false when called from a listener on the poller thread (it would wait for itself)" do
      results = Queue.new
      producer.monitor.subscribe("message.acknowledged") { results << producer.disconnect }
      producer.produce_sync(topic: topic, payload: "x")
      expect(results.pop).to be(false)
      expect(producer.status).to be_connected
    end

    it "is disconnectable only when connected, idle and with an empty buffer" do
      expect(producer.disconnectable?).to be(true)
      producer.disconnect
      expect(producer.disconnectable?).to be(false)
    end

    it "lets producing threads carry on across repeated disconnects without losing messages" do
      stop = false
      workers = Array.new(4) do |t|
        Thread.new do
          count = 0
          until stop
            producer.produce_sync(topic: topic, payload: "#{t}-#{count}")
            count += 1
          end
          count
        end
      end
      disconnects = 0
      20.times do
        disconnects += 1 if producer.disconnect
        sleep 0.01
      end
      stop = true
      produced = workers.sum(&:value)
      expect(disconnects).to be >= 1
      expect(kcat_read(topic, "%s").size).to eq(produced + 1)
    end
  end

  describe "#close" do
    it "instruments producer.closing and producer.closed (with time)" do
      producer.produce_sync(topic: topic, payload: "x")
      events = record("producer.closing", "producer.closed")
      producer.close
      expect(events.map(&:id)).to eq(%w[producer.closing producer.closed])
      expect(events[0].payload).to eq(producer_id: producer.id)
      expect(events[1].payload.keys).to contain_exactly(:producer_id, :time)
    end

    it "closes a disconnected producer without connecting again" do
      producer.produce_sync(topic: topic, payload: "x")
      producer.disconnect
      connected = record("producer.connected")
      producer.close
      expect(connected).to be_empty
      expect(producer.status).to be_closed
    end

    it "waits for a dispatch already in progress in another thread, which then completes" do
      entered = Queue.new
      proceed = Queue.new
      # The first produce connects inside its dispatch: hold it there.
      producer.monitor.subscribe("producer.connected") do
        entered << true
        proceed.pop
      end
      slow = Thread.new { producer.produce_sync(topic: topic, payload: "in progress") }
      entered.pop
      expect(producer.inspect).to include("operations=1")
      closer = Thread.new { producer.close }
      wait_until { producer.status.closing? }
      sleep 0.05
      expect(closer).to be_alive
      proceed << true
      expect(slow.value.offset).to eq(0)
      closer.join
      expect(producer.status).to be_closed
      expect(kcat_read(topic, "%s")).to eq(["in progress"])
    end

    it "refuses dispatches that start while it runs with ProducerClosedError" do
      producer.produce_sync(topic: topic, payload: "x")
      producer.close
      expect { producer.produce_async(topic: topic, payload: "late") }
        .to raise_error(WaterDrop::Errors::ProducerClosedError, producer.id)
    end
  end

  describe "#inspect" do
    it "shows connected=true once connected" do
      producer.produce_sync(topic: topic, payload: "x")
      expect(producer.inspect).to match(
        /\A#<WaterDrop::Producer:0x\h+ id="#{producer.id}" status=connected buffer_size=0 connected=true operations=0>\z/
      )
    end
  end
end
