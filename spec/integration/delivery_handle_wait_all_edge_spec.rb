# frozen_string_literal: true

require "spec_helper"

# A wait_all whose time runs out just as the last report arrives: the latch wait reports a
# timeout, yet by the time the countdown is taken off the handles none is pending any more.
# Every message was delivered, so the batch must not be reported as timed out (WaterDrop
# would turn that into a ProduceManyError for messages the broker has). The latch below
# gives up only once the reports arrived, which makes that interleaving certain.
RSpec.describe WaterdropFd::DeliveryHandle do
  it "wait_all does not raise WaitTimeoutError when every report arrived as its time ran out" do
    result = in_child(timeout: 60) do |cluster|
      cluster.create_topic("edge", partitions: 1)
      producer = child_producer(cluster, max_wait_timeout: 5_000)
      producer.produce_sync(topic: "edge", payload: "warm-up")
      WaterdropFd::Latch.prepend(Module.new do
        define_method(:wait) do |timeout = nil|
          super(timeout && 10) # released meanwhile (the reports arrive) ...
          false                # ... but seen as a timeout, as at the very end of the limit
        end
      end)
      handles = Array.new(3) { |i| producer.produce_async(topic: "edge", payload: "m#{i}") }
      outcome = begin
        WaterdropFd::DeliveryHandle.wait_all(handles, max_wait_timeout_ms: 1_000).size
      rescue WaterdropFd::WaitTimeoutError => e
        e.class.name
      end
      producer.close
      [outcome, handles.map(&:pending?).uniq]
    end

    expect(result).to eq([3, [false]])
  end
end
