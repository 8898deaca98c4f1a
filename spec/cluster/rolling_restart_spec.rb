# frozen_string_literal: true

require "spec_helper"

# A rolling restart, the way an operator upgrades a cluster: one node at a time is stopped
# cleanly, started again and allowed to catch up (all replicas back in the ISR) before the
# next one, while several threads keep producing. Leadership moves twice per node; the
# producer follows it and loses, doubles or reorders nothing.
RSpec.describe "Rolling restart of a three-node cluster", cluster: true, timeout: 300 do
  let(:topic) { "cl-rolling-#{SecureRandom.hex(4)}" }

  after { heal_cluster }

  it "delivers every message exactly once and in order per key through three restarts" do
    producer = cluster_producer("message.timeout.ms": 60_000)
    producer.produce_sync(topic: topic, key: "warm-up", payload: "warm-up")
    wait_for_full_isr(topic)

    started = monotonic
    load = ClusterLoad.new(producer, topic).start
    restarts = ClusterHelpers::NODES.map do |id|
      acked = load.acked.size
      wait_until(timeout: 60, interval: 0.05) { load.acked.size >= acked + 200 }
      t0 = monotonic
      cluster_cmd("stop", id)
      cluster_cmd("start", id)
      wait_for_full_isr(topic)
      "node #{id} #{(monotonic - t0).round(1)}s"
    end
    acked = load.acked.size
    wait_until(timeout: 60, interval: 0.05) { load.acked.size >= acked + 200 }
    load.stop

    stats = verify_stream("rolling_restart", load, read_back(topic), started: started)
    puts "[cluster/rolling_restart] stop+start+in-sync: #{restarts.join(', ')}; rss_mib=#{cluster_rss_mib}"
    expect(stats[:failed]).to eq(0)
    expect(stats[:acked]).to eq(stats[:sent])
  end
end
