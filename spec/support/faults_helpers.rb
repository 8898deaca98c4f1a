# frozen_string_literal: true

# Helpers for spec/faults: fault injection on the shared mock cluster that is always undone.
module FaultsHelpers
  BROKER_IDS = [1, 2, 3].freeze

  def now_s = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Resident set size of this process, in kB.
  def rss_kb
    File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1].to_i
  end

  def all_brokers_down = BROKER_IDS.each { |b| mock_cluster.broker_down(b) }

  def all_brokers_up = BROKER_IDS.each { |b| mock_cluster.broker_up(b) }

  def all_brokers_rtt(ms) = BROKER_IDS.each { |b| mock_cluster.set_rtt(b, ms) }

  # Puts the shared mock cluster back into a healthy state.
  def heal_cluster
    all_brokers_up
    all_brokers_rtt(0)
    mock_cluster.clear_request_errors(0)
  end

  # Settings that make a producer notice a down broker fast.
  FAST_FAIL = {
    "socket.connection.setup.timeout.ms": 1_000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500
  }.freeze
end

RSpec.configure do |config|
  config.include FaultsHelpers, file_path: %r{spec/faults/}
  config.after(file_path: %r{spec/faults/}) { heal_cluster }
end
