# frozen_string_literal: true

require "spec_helper"

# K1: an idempotent producer writes each message exactly once, in order per partition,
# while brokers flap, leaders move and produce requests fail with retriable errors.
RSpec.describe "Idempotent producer under broker faults", timeout: 600 do
  let(:partitions) { 6 }
  let(:topic) { mock_topic(partitions: partitions) }
  let(:total) { 50_000 }

  it "delivers 50,000 messages exactly once and in per-partition order" do
    producer = build_producer(
      kafka: {
        "enable.idempotence": true,
        "socket.connection.setup.timeout.ms": 5_000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 2_000,
        "retry.backoff.ms": 50,
        "linger.ms": 5
      },
      logger: Logger.new(File::NULL),
      max_wait_timeout: 120_000
    )
    fatal = Queue.new
    producer.monitor.subscribe("error.occurred") do |e|
      fatal << e[:error] if e[:error].respond_to?(:fatal?) && e[:error].fatal?
    end
    producer.produce_sync(topic: topic, payload: "0:-1", partition: 0) # connect, get a PID

    faults = Hash.new(0)
    stop = false
    chaos = Thread.new do
      step = 0
      until stop
        broker = (step % 3) + 1
        mock_cluster.broker_down(broker)
        faults[:broker_down] += 1
        sleep 0.25
        mock_cluster.broker_up(broker)
        mock_cluster.push_request_errors(0, 6, 6, 6) # NOT_LEADER_OR_FOLLOWER x3
        faults[:request_errors] += 3
        if step.even?
          mock_cluster.partition_set_leader(topic, step % partitions, ((step + 1) % 3) + 1)
          faults[:leader_moves] += 1
        end
        step += 1
        sleep 0.25
      end
    end

    started = now_s
    sequences = Array.new(partitions, 0)
    handles = []
    total.times do |i|
      partition = i % partitions
      handles << producer.produce_async(topic: topic, payload: "#{partition}:#{sequences[partition]}",
                                        partition: partition)
      sequences[partition] += 1
      sleep 0.001 if (i % 10).zero? # spread the run over several fault cycles
    end
    produced_in = now_s - started
    # Keep the faults going while the tail drains, then heal.
    sleep 1
    stop = true
    chaos.join
    all_brokers_up
    mock_cluster.clear_request_errors(0)

    reports = handles.map { |h| h.wait(max_wait_timeout_ms: 120_000, raise_response_error: false) }
    elapsed = now_s - started
    errors = reports.reject { |r| r.error.nil? }.map { |r| r.error.code }.tally

    lines = kcat_read(topic, "%p|%s")
    read_back = Hash.new { |h, k| h[k] = [] }
    lines.each do |line|
      partition, payload = line.split("|", 2)
      read_back[Integer(partition)] << payload
    end
    # The warm-up message (partition 0, "0:-1") comes first.
    warm_up = read_back[0].shift

    puts "[idempotent] sent=#{total} delivered=#{reports.size - errors.values.sum} errors=#{errors} " \
         "read_back=#{lines.size - 1} faults=#{faults} fatal=#{fatal.size} " \
         "produced_in=#{produced_in.round(2)}s total=#{elapsed.round(2)}s"

    expect(errors).to eq({})
    expect(fatal.size).to eq(0)
    expect(warm_up).to eq("0:-1")
    partitions.times do |p|
      expected = Array.new(sequences[p]) { |seq| "#{p}:#{seq}" }
      got = read_back[p]
      dups = got.tally.select { |_, c| c > 1 }.keys
      missing = expected - got
      expect([dups.first(5), missing.first(5)]).to eq([[], []]), "partition #{p}: duplicates/missing"
      expect(got).to eq(expected), "partition #{p}: out of order"
    end
    expect(faults[:broker_down]).to be > 2
  end
end
