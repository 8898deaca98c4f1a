# frozen_string_literal: true

require "spec_helper"

# The leader of a partition crashes (SIGKILL: no controlled shutdown, the controller only
# learns it from the missed heartbeats) while several threads produce; a follower from the
# ISR takes over and the crashed node comes back and catches up. With acks=all and
# idempotence nothing acknowledged may be lost or doubled, and with a message timeout far
# above the election time nothing needs to fail at all.
RSpec.describe "Leader crash on a three-node cluster", cluster: true, timeout: 240 do
  let(:topic) { "cl-failover-#{SecureRandom.hex(4)}" }

  after { heal_cluster }

  it "keeps every acknowledged message exactly once and in order per key" do
    producer = cluster_producer("message.timeout.ms": 60_000)
    producer.produce_sync(topic: topic, key: "warm-up", payload: "warm-up")
    wait_for_full_isr(topic)
    leader = partition_states(topic).fetch(0).fetch(:leader)

    started = monotonic
    load = ClusterLoad.new(producer, topic).start
    wait_until(timeout: 30, interval: 0.05) { load.acked.size >= 300 }
    cluster_cmd("kill", leader)
    killed_at = monotonic
    new_leader = wait_until(timeout: 60, interval: 0.2) do
      l = partition_states(topic).dig(0, :leader)
      l if l && l.positive? && l != leader
    end
    elected_after = monotonic - killed_at
    acked_before_restart = load.acked.size
    # Production goes on with the new leader before the crashed node returns.
    wait_until(timeout: 60, interval: 0.05) { load.acked.size >= acked_before_restart + 300 }
    cluster_cmd("start", leader)
    wait_for_full_isr(topic)
    back_after = monotonic - killed_at
    wait_until(timeout: 30, interval: 0.05) { load.acked.size >= acked_before_restart + 600 }
    load.stop

    stats = verify_stream("leader_failover", load, read_back(topic), started: started)
    first_ack = load.acked.select { |p, _| load.sent_at[p] >= killed_at }.values.min
    puts "[cluster/leader_failover] killed node #{leader} (leader of partition 0); node #{new_leader} led it " \
         "#{elected_after.round(1)}s later; first ack of a message sent after the kill " \
         "#{(first_ack - killed_at).round(1)}s after it; back in the ISR after #{back_after.round(1)}s; " \
         "rss_mib=#{cluster_rss_mib}"
    expect(stats[:failed]).to eq(0)
    expect(stats[:acked]).to eq(stats[:sent])
  end
end
