# frozen_string_literal: true

require "json"
require "open3"

# Faults and checks on the real three-node cluster of bin/kafka-cluster (specs tagged
# `cluster: true`, run when KAFKA_CLUSTER_BOOTSTRAP_SERVERS is set).
module ClusterHelpers
  SCRIPT = File.expand_path("../../bin/kafka-cluster", __dir__)
  NODES = [1, 2, 3].freeze

  # @return [String] the cluster's bootstrap list
  def cluster_servers = ENV.fetch("KAFKA_CLUSTER_BOOTSTRAP_SERVERS")

  # Runs `bin/kafka-cluster ARGS` (kill/stop/start NODE), raising when it fails.
  def cluster_cmd(*args)
    out, err, status = Open3.capture3(SCRIPT, *args.map(&:to_s))
    raise "bin/kafka-cluster #{args.join(' ')} failed (#{status.exitstatus}): #{err}" unless status.success?

    out
  end

  # @return [Boolean] whether node `id` runs
  def node_running?(id)
    _out, _err, status = Open3.capture3(SCRIPT, "pid", id.to_s)
    status.success?
  end

  # Metadata of `topic` as one live node sees it.
  # @return [Hash{Integer => Hash}] partition => { leader:, isr: [ids] }, or {} when unknown
  def partition_states(topic)
    out, _err, status = Open3.capture3("kcat", "-b", cluster_servers, "-L", "-J", "-t", topic, "-m", "5")
    return {} unless status.success?

    meta = JSON.parse(out)
    topic_meta = meta.fetch("topics", []).find { |t| t["topic"] == topic }
    return {} unless topic_meta && topic_meta["error"].nil?

    topic_meta.fetch("partitions").to_h do |p|
      [p["partition"], { leader: p["leader"], isr: p.fetch("isrs", []).map { |r| r["id"] }.sort }]
    end
  rescue JSON::ParserError
    {}
  end

  # Waits (bounded) until every partition of `topic` has a leader and all three replicas
  # in sync: the state every scenario starts from and must return to.
  def wait_for_full_isr(topic, partitions: 3, timeout: 120)
    wait_until(timeout: timeout, interval: 0.5) do
      states = partition_states(topic)
      states.size == partitions && states.values.all? { |s| s[:leader].to_i.positive? && s[:isr] == NODES }
    end
  end

  # Starts every node that is not running and waits until `topic` (if given) is fully in sync.
  def heal_cluster(topic = nil)
    NODES.each { |id| cluster_cmd("start", id) unless node_running?(id) }
    wait_for_full_isr(topic) if topic
  end

  # Reads the whole topic back with kcat.
  # @param isolation [String] "read_uncommitted" or "read_committed"
  # @return [Array<Array(String, Integer)>] [payload, partition] in log order per partition
  def read_back(topic, isolation: "read_uncommitted")
    out, err, status = Open3.capture3("kcat", "-b", cluster_servers, "-X", "isolation.level=#{isolation}",
                                      "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %s\n")
    raise "kcat failed (#{status.exitstatus}): #{err}" unless status.success?

    out.lines.map do |line|
      partition, payload = line.chomp.split(" ", 2)
      [payload, partition.to_i]
    end
  end

  # Checks what was read back against what the producer was told, the way a user would:
  # every acknowledged message exactly once, per-key order, nothing sent without an outcome.
  #
  # `epoch_bump_window:` is for scenarios where messages time out on purpose. librdkafka
  # then drains the partitions and bumps the idempotent producer's epoch, which resets the
  # sequence numbers, and a message the leader had already appended but not acknowledged
  # can be written again under the new epoch (its maintainers on
  # confluentinc/librdkafka#4953; INTRODUCTION.md, "Message timeout considerations",
  # describes the bump and calls such messages possibly persisted). In such a run a second
  # copy is accepted, and reported, for a payload that was in flight during the window (the
  # monotonic times from the first fault to the heal): handed over before its end and not
  # acknowledged before its start. Every other payload must still be there exactly once.
  # Order is checked on first occurrences then (a copy always lands after its original).
  # @param load [ClusterLoad]
  # @param records [Array<Array(String, Integer)>] from {#read_back}
  # @param epoch_bump_window [Range<Float>, nil] from the first fault to the heal
  # @return [Hash] the figures (also printed) for the report
  def verify_stream(name, load, records, started:, epoch_bump_window: nil)
    payloads = records.map(&:first).reject { |p| p.start_with?("warm-up") || p.start_with?("probe|") }
    counts = payloads.tally
    duplicates = counts.select { |_, c| c > 1 }.keys
    missing_acked = load.acked.keys.reject { |p| counts.key?(p) }
    order_violations = order_violations(epoch_bump_window ? payloads.uniq : payloads)
    failed_but_written = load.failed.keys.count { |p| counts.key?(p) }
    bump_copies = epoch_bump_window ? duplicates.select { |p| in_flight_during?(load, p, epoch_bump_window) } : []
    stats = {
      sent: load.sent, acked: load.acked.size, failed: load.failed.size + load.raised.size,
      codes: load.failure_codes, read_back: payloads.size, duplicates: duplicates.size,
      order_violations: order_violations.size, missing_acked: missing_acked.size,
      failed_but_written: failed_but_written, pending: load.pending.size, silent: load.silent.size,
      duration: (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).round(1)
    }
    puts "[cluster/#{name}] #{stats.map { |k, v| "#{k}=#{v}" }.join(' ')}"
    report_epoch_bump_copies(name, load, bump_copies, counts) if epoch_bump_window
    expect(load.pending).to be_empty
    expect(load.silent).to be_empty
    expect(load.duplicate_events).to be_empty
    expect(missing_acked.first(5)).to be_empty
    expect((duplicates - bump_copies).first(5)).to be_empty
    expect(order_violations.first(5)).to be_empty
    # What was read back was sent by this run (nothing invented, nothing from elsewhere).
    expect(payloads.reject { |p| load.sent_at.key?(p) }.first(5)).to be_empty
    stats
  end

  # Whether `payload` was handed over before the window ended and not acknowledged before
  # it began.
  def in_flight_during?(load, payload, window)
    sent_at = load.sent_at[payload]
    acked_at = load.acked[payload]
    !sent_at.nil? && sent_at < window.end && (acked_at.nil? || acked_at >= window.begin)
  end

  # Prints what became of the payloads written more than once across an epoch bump (each
  # bump while the ISR stays too small can append a waiting message once more, so more than
  # two copies are possible).
  def report_epoch_bump_copies(name, load, copies, counts)
    outcomes = copies.map { |p| load.acked.key?(p) ? :acked : load.failed.fetch(p, :raised) }.tally
    puts "[cluster/#{name}] copies across an epoch bump: #{copies.size} payloads " \
         "(max #{copies.map { |p| counts[p] }.max || 0} copies), outcomes #{outcomes}"
  end

  # Pairs of payloads of one key read back out of their send order.
  def order_violations(payloads)
    last = {}
    payloads.each_with_object([]) do |payload, violations|
      key, seq = payload.split("|")
      seq = seq.to_i
      violations << [last[key], seq, key] if last.key?(key) && seq <= last[key]
      last[key] = seq
    end
  end

  # Resident memory of each node's JVM, in MiB (for the report).
  def cluster_rss_mib
    NODES.to_h do |id|
      pid = Open3.capture3(SCRIPT, "pid", id.to_s).first.strip
      rss = pid.empty? ? nil : File.read("/proc/#{pid}/status")[/^VmRSS:\s+(\d+)/, 1].to_i / 1024
      [id, rss]
    end
  end

  # An idempotent (acks=all) producer on the cluster.
  def cluster_producer(kafka = {})
    producer = WaterDrop::Producer.new do |config|
      config.kafka = {
        "bootstrap.servers": cluster_servers, "enable.idempotence": true, "request.required.acks": "all",
        # Failover is noticed by the next metadata refresh; keep it near the election time.
        "topic.metadata.refresh.interval.ms": 2_000, "retry.backoff.max.ms": 500
      }.merge(kafka)
      config.logger = Logger.new(File::NULL)
      config.max_wait_timeout = 120_000
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

RSpec.configure { |config| config.include ClusterHelpers, cluster: true }
