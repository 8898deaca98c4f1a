# frozen_string_literal: true

require "spec_helper"

# How many Ruby threads polling costs, per mode, and when the poller thread lives.
RSpec.describe "Poller threads" do
  let(:topic) { mock_topic }
  let(:shared) { WaterDrop::Polling::Poller.instance }

  def live_threads = Thread.list.select(&:alive?)

  # Threads this example added, once they settled (a closing producer may still be
  # finishing in the background when the example starts).
  def settle_baseline
    wait_until { shared.count.zero? && !shared.alive? }
    live_threads
  end

  def connect(producer)
    producer.produce_sync(topic: topic, payload: "connect")
    producer
  end

  it "adds exactly one Ruby thread, waterdrop.poller#0, for 25 producers in :fd mode" do
    baseline = settle_baseline
    producers = Array.new(25) { connect(build_producer(polling: { mode: :fd })) }

    added = live_threads - baseline
    puts "\n  :fd mode: #{baseline.size} threads before, #{live_threads.size} with 25 producers " \
         "(added: #{added.map(&:name).inspect})"

    expect(added.map(&:name)).to eq(["waterdrop.poller#0"])
    expect(ruby_thread_count).to eq(baseline.size + 1)
    expect(shared.count).to eq(25)
    expect(shared).to be_alive
    expect(producers.map(&:poller).uniq).to eq([shared])
  end

  it "adds one Ruby thread per producer in :thread mode, each with its own poller id" do
    baseline = settle_baseline
    producers = Array.new(25) { connect(build_producer(polling: { mode: :thread })) }

    added = live_threads - baseline
    puts "\n  :thread mode: #{baseline.size} threads before, #{live_threads.size} with 25 producers"

    expect(added.size).to eq(25)
    expect(ruby_thread_count).to eq(baseline.size + 25)
    ids = producers.map { |p| p.poller.id }
    expect(ids.uniq.size).to eq(25)
    expect(ids).not_to include(0)
    expect(added.map(&:name)).to match_array(ids.map { |id| "waterdrop.poller##{id}" })
    expect(producers.map(&:poller)).to all(be_alive)
    # The shared poller is not involved.
    expect(shared.count).to eq(0)
    expect(shared).not_to be_alive

    producers.each(&:close)
    wait_until { ruby_thread_count == baseline.size }
    expect(producers.map(&:poller)).to all(satisfy { |poller| !poller.alive? })
  end

  it "stops the poller thread when the last producer closes and starts it again on the next register" do
    settle_baseline

    first = connect(build_producer)
    expect(shared).to be_alive
    thread = Thread.list.find { |t| t.name == "waterdrop.poller#0" && t.alive? }
    expect(thread).not_to be_nil

    second = connect(build_producer)
    first.close
    expect(shared.count).to eq(1)
    expect(shared).to be_alive

    second.close
    wait_until { !shared.alive? }
    expect(shared.count).to eq(0)
    expect(thread.join(5)).to eq(thread) # the thread really ended
    expect(Thread.list.select(&:alive?).map(&:name)).not_to include("waterdrop.poller#0")

    third = build_producer
    report = third.produce_sync(topic: topic, payload: "after restart")
    expect(report.error).to be_nil
    expect(shared).to be_alive
    expect(shared.count).to eq(1)
    restarted = Thread.list.find { |t| t.name == "waterdrop.poller#0" && t.alive? }
    expect(restarted).not_to be_nil
    expect(restarted).not_to equal(thread)
  end

  it "gives a dedicated poller its own id and thread, separate from the shared one" do
    baseline = settle_baseline
    dedicated = WaterDrop::Polling::Poller.new
    other = WaterDrop::Polling::Poller.new
    expect(dedicated.id).not_to eq(0)
    expect(other.id).not_to eq(dedicated.id)
    expect(dedicated).not_to be_alive

    on_poller = Queue.new
    producer = build_producer(polling: { mode: :fd, poller: dedicated })
    producer.monitor.subscribe("message.acknowledged") do
      on_poller << [Thread.current.name, dedicated.in_poller_thread?, shared.in_poller_thread?]
    end
    shared_producer = connect(build_producer)

    producer.produce_sync(topic: topic, payload: "dedicated")

    expect(dedicated).to be_alive
    expect(dedicated.count).to eq(1)
    expect(shared.count).to eq(1)
    added = (live_threads - baseline).map(&:name)
    expect(added).to match_array(["waterdrop.poller#0", "waterdrop.poller##{dedicated.id}"])
    expect(on_poller.pop).to eq(["waterdrop.poller##{dedicated.id}", true, false])

    producer.close
    wait_until { !dedicated.alive? }
    expect(shared).to be_alive # the shared poller keeps serving its producer
    expect(shared_producer.produce_sync(topic: topic, payload: "still served").error).to be_nil
  end

  # Two producers, each on a poller of its own. Once both listeners are running on their
  # poller threads at the same moment, each calls the block with the other producer.
  # @return [Array<WaterDrop::Producer>]
  def crossed_listeners(cluster, topic)
    cluster.create_topic(topic, partitions: 1)
    producers = Array.new(2) do
      poller = WaterDrop::Polling::Poller.new
      WaterDrop::Producer.new do |config|
        config.kafka = { "bootstrap.servers": cluster.bootstrap_servers }
        config.logger = Logger.new(File::NULL)
        config.polling.poller = poller
      end
    end
    ready = Queue.new
    go = Queue.new
    producers.each_with_index do |producer, i|
      producer.monitor.subscribe("message.acknowledged") do |event|
        next unless event[:label] == :cross

        ready << i
        go.pop # both listeners are inside their poller threads now
        yield producers[1 - i]
      end
    end
    producers.each { |p| p.produce_async(topic: topic, payload: "x", label: :cross) }
    2.times { ready.pop }
    2.times { go << true }
    producers
  end

  it "lets listeners of two pollers close each other's producers without waiting for each other" do
    result = in_child(timeout: 60) do |cluster|
      producers = crossed_listeners(cluster, "crossed", &:close)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
      Thread.pass until producers.all? { |p| p.status.closed? } ||
                        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      producers.map { |p| p.status.to_s }
    end

    expect(result).to eq(%w[closed closed])
  end

  it "lets listeners of two pollers ask to disconnect each other's producers without waiting for each other" do
    result = in_child(timeout: 60) do |cluster|
      answers = Queue.new
      producers = crossed_listeners(cluster, "crossed-disconnect") { |other| answers << other.disconnect }
      said = Array.new(2) { answers.pop }
      offsets = producers.map { |p| p.produce_sync(topic: "crossed-disconnect", payload: "still connected").offset }
      producers.each(&:close)
      [said, offsets.all? { |o| o >= 0 }]
    end

    # disconnect declines from a poller thread (it returns false, as when messages are pending).
    expect(result).to eq([[false, false], true])
  end
end
