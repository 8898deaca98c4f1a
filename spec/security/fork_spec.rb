# frozen_string_literal: true

require "spec_helper"

# Forking while librdkafka's broker threads are in the middle of TLS handshakes: a thread
# of the parent may hold an OpenSSL or librdkafka lock at the moment of fork, and nothing
# of it may make a child hang. Each child runs in its own process with a time bound.
RSpec.describe "Fork during TLS connect storms", security: :all, timeout: 300 do
  def modes_under_test = %i[ssl mtls sasl_ssl]

  def tls_producer(mode, max_wait_timeout: 30_000)
    WaterDrop::Producer.new do |config|
      config.kafka = security_kafka(mode, "request.required.acks": "all")
      config.max_wait_timeout = max_wait_timeout
      config.logger = Logger.new(File::NULL)
    end
  end

  it "20 children forked mid-handshake all reconnect and deliver, none hangs" do
    suffix = SecureRandom.hex(4)
    topics = modes_under_test.to_h { |mode| [mode, "sec-fork-#{mode}-#{suffix}"] }
    inherited = modes_under_test.to_h { |mode| [mode, tls_producer(mode)] }
    inherited.each { |mode, producer| producer.produce_sync(topic: topics[mode], payload: "parent-warm") }

    # The storm: new producers on every TLS listener, each connecting (a TLS handshake on
    # a librdkafka thread, plus SCRAM on sasl_ssl) and being closed again.
    stop = false
    storm_clients = 0
    storm = Array.new(3) do |t|
      Thread.new do
        live = []
        until stop
          mode = modes_under_test[(storm_clients + t) % modes_under_test.size]
          producer = tls_producer(mode, max_wait_timeout: 10_000)
          producer.produce_async(topic: topics[mode], payload: "storm")
          storm_clients += 1
          live << producer
          live.shift.close while live.size > 2
        end
        live.each(&:close)
      end
    end

    sleep 0.2 until storm_clients >= 6
    pids = Array.new(20) do |c|
      sleep 0.05
      fork_child do
        modes_under_test.each do |mode|
          5.times { |i| inherited[mode].produce_sync(topic: topics[mode], payload: "child-#{c}-#{i}") }
        end
        fresh = tls_producer(:ssl)
        fresh.produce_sync(topic: topics[:ssl], payload: "child-#{c}-fresh")
        fresh.close
        inherited.each_value(&:close)
        true
      end
    end
    stop = true
    storm.each(&:join)
    statuses = wait_children(pids, timeout: 150)
    inherited.each_value(&:close)

    expect(statuses.values).to all(eq(0))
    expect(storm_clients).to be >= 6
    modes_under_test.each do |mode|
      payloads = kcat_read_secured(mode, topics[mode]).map { |line| line.split(":", 2).last }
      expected = Array.new(20) { |c| Array.new(5) { |i| "child-#{c}-#{i}" } }.flatten
      expected += Array.new(20) { |c| "child-#{c}-fresh" } if mode == :ssl
      expect(payloads.grep(/\Achild-/).sort).to eq(expected.sort)
    end
    puts "fork with TLS: #{pids.size} children, #{statuses.values.count(0)} exited 0, " \
         "#{storm_clients} storm clients (TLS connects) in the parent around the forks"
  end
end
