# frozen_string_literal: true

require "spec_helper"

# A child that forks again (Puma `fork_worker`, Pitchfork refork, Resque) must fork as
# freely as its parent did (DESIGN.md rule 13a). Each scenario runs in its own process.
RSpec.describe "Forks of forked processes", timeout: 300 do
  # Three threads that create and close mock clusters: their rd_kafka_new / destroy run on
  # native worker threads, so some of them wait at the fork guard whenever the scenario
  # process forks.
  def churn_mock_clusters(threads: 3)
    stop = false
    workers = Array.new(threads) do
      Thread.new do
        WaterdropFd::Testing::MockCluster.new(brokers: 1).close until stop
      end
    end
    yield
  ensure
    stop = true
    workers&.each(&:join)
  end

  it "lets every child fork a grandchild while other threads create and destroy librdkafka clients" do
    pid = fork_child do
      result = churn_mock_clusters { nested_forks(60, bound: 5, stop_after_hangs: 3) }
      warn "nested forks under mock-cluster churn: #{result}"
      result[:hung].zero? && result[:failed].zero? && result[:forked] == 60
    end
    expect(wait_children([pid], timeout: 120).values).to eq([0])
  end

  it "a grandchild sees its own fork epoch (one more than its parent's, two more than the scenario's)" do
    pid = fork_child do
      base = WaterdropFd::Native.fork_generation
      result = nested_forks(3, bound: 10, grandchild_check: -> { WaterdropFd::Native.fork_generation == base + 2 })
      result[:hung].zero? && result[:failed].zero?
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
  end
end
