# frozen_string_literal: true

require "spec_helper"

# K1: an idempotent producer loses nothing and keeps per-partition order while brokers
# flap, leaders move and produce requests fail with retriable errors.
#
# What the mock cluster can and cannot check: it deduplicates retried batches only for
# producers with a transactional.id (rdkafka_mock.c, rd_kafka_mock_validate_records returns
# early without one). When a broker goes down after appending a batch but before its
# response left, librdkafka rightly retries it with the same sequence numbers, a real broker
# drops the copy, and the mock writes it again. So here a message may appear twice, but only
# as a replay of a batch already in the log, right behind it; anything else (a gap, a
# reordering, a copy of a message that was not the latest batch) fails the spec. Exactly-once
# with broker-side deduplication is checked with transactional producers (whose sequences
# the mock does validate) in spec/faults/transactions_spec.rb and against the real broker.
RSpec.describe "Idempotent producer under broker faults", timeout: 600 do
  let(:partitions) { 6 }
  let(:topic) { mock_topic(partitions: partitions) }
  let(:total) { 50_000 }

  # Walks one partition's log: each payload must be the next expected sequence number, or a
  # replay of a recent, already-written one. Returns [gaps_or_reorders, replayed_copies].
  def check_partition_log(partition, got, count)
    next_seq = 0
    problems = []
    replays = 0
    got.each do |payload|
      seq = Integer(payload.split(":", 2).last)
      if seq == next_seq
        next_seq += 1
      elsif seq < next_seq && seq >= next_seq - 10_000
        replays += 1
      else
        problems << "partition #{partition}: #{payload} where #{partition}:#{next_seq} was due"
      end
    end
    problems << "partition #{partition}: log ends at #{next_seq} of #{count}" unless next_seq == count
    [problems, replays]
  end

  it "delivers 50,000 messages with nothing lost and per-partition order kept" do
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

    checks = Array.new(partitions) { |p| check_partition_log(p, read_back[p], sequences[p]) }
    problems = checks.flat_map(&:first)
    replays = checks.sum(&:last)
    puts "[idempotent] sent=#{total} delivered=#{reports.size - errors.values.sum} errors=#{errors} " \
         "read_back=#{lines.size - 1} replayed_copies=#{replays} faults=#{faults} fatal=#{fatal.size} " \
         "produced_in=#{produced_in.round(2)}s total=#{elapsed.round(2)}s"

    expect(errors).to eq({})
    expect(fatal.size).to eq(0)
    expect(warm_up).to eq("0:-1")
    expect(problems.first(5)).to eq([])
    # Every extra record is a replayed copy (see the note at the top).
    expect(lines.size - 1).to eq(total + replays)
    expect(faults[:broker_down]).to be > 2
  end
end
