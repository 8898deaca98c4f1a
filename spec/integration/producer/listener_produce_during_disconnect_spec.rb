# frozen_string_literal: true

require "spec_helper"

# A listener (on the poller thread) that produces while another thread disconnects the
# producer (IdleDisconnectorListener does that on a background thread; a dead-letter
# listener produces from error.occurred). `disconnect` holds the producer's operating lock
# while it waits for this very thread (flush, then unregister); a produce that waited for
# that lock would never get it, and neither call would ever return. The produce fails at
# once instead (ProduceError caused by PollerThreadWaitError), and the disconnect finishes. Runs in a child
# process with a bound on time: a deadlock fails the example.
RSpec.describe "A listener producing while the producer disconnects", timeout: 120 do
  it "fails at once with PollerThreadWaitError as the cause, and disconnect returns" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("disconnecting", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "disconnecting", payload: "connect")
      outcome = Queue.new
      producer.monitor.subscribe("message.acknowledged") do |event|
        next unless event[:label] == :last

        # Goes on once disconnect holds the lock.
        sleep 0.01 until producer.status.disconnecting?
        begin
          producer.produce_async(topic: "disconnecting", payload: "from the listener")
          outcome << :produced
        rescue StandardError => e
          outcome << [e.class.name, e.cause&.class&.name]
        end
      end
      producer.produce_async(topic: "disconnecting", payload: "last", label: :last)
      disconnected = producer.disconnect
      after = producer.produce_sync(topic: "disconnecting", payload: "after reconnecting").offset
      producer.close
      [outcome.pop, disconnected, after]
    end

    expect(result).to eq([["WaterDrop::Errors::ProduceError", "WaterdropFd::PollerThreadWaitError"], true, 2])
  end
end
