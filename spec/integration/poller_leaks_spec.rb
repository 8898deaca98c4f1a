# frozen_string_literal: true

require "spec_helper"

# Producers that come and go leave nothing behind: no Ruby thread, no native thread, no
# file descriptor (pipes, sockets).
RSpec.describe "Producer churn" do
  cycles = 200

  let(:shared) { WaterDrop::Polling::Poller.instance }

  # Native threads the library owns: librdkafka's (`rdk:*`) and its workers
  # (`waterdrop.flush`, `waterdrop.destroy`, ...). Ruby threads are counted apart (Ruby
  # keeps the native thread of an ended Ruby thread cached for a while, under its name).
  def native_threads
    Dir.children("/proc/self/task").count do |tid|
      name = File.read("/proc/self/task/#{tid}/comm").strip
      name.start_with?("rdk:") || (name.start_with?("waterdrop.") && !name.start_with?("waterdrop.poll"))
    rescue Errno::ENOENT, Errno::ESRCH
      false # the thread ended while we looked
    end
  end

  def counts = { ruby_threads: ruby_thread_count, native_threads: native_threads, fds: fd_count }

  def cycle(topic, polling)
    producer = build_producer(polling: polling)
    handles = Array.new(3) { |i| producer.produce_async(topic: topic, payload: "churn-#{i}") }
    report = producer.produce_sync(topic: topic, payload: "churn-sync")
    producer.close
    [report, handles]
  end

  # Counts once they stopped moving (the warm-up's connections are being torn down).
  def stable_counts
    wait_until(timeout: 30) do
      before = counts
      sleep 0.2
      before == counts && shared.count.zero? && !shared.alive? && before
    end
  end

  # Closing ends each client on a worker thread and the mock brokers drop their side of
  # each connection on their own threads: let that settle (a condition, not a delay).
  # Returns the counts then (the caller compares them with the baseline).
  def settled_at_or_below(baseline)
    wait_until(timeout: 30) do
      counts.all? { |k, v| v <= baseline[k] } && !shared.alive?
    end
    counts
  rescue RuntimeError
    counts
  end

  { fd: { mode: :fd }, thread: { mode: :thread } }.each do |mode, polling|
    it "returns to the baseline Ruby threads, native threads and fds after #{cycles} " \
       "create/produce/close cycles (#{mode} mode)", timeout: 300 do
      topic = mock_topic
      # Warm up: everything created once per process (the mock cluster, the shared
      # poller's control pipe, this thread's interrupt pipe) exists before the baseline.
      cycle(topic, polling)
      baseline = stable_counts

      reports = []
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      cycles.times do
        report, handles = cycle(topic, polling)
        reports << report
        expect(handles.count(&:pending?)).to eq(0)
        expect(handles.map(&:error_code).uniq).to eq([0])
      end
      duration = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      right_after = counts
      after = settled_at_or_below(baseline)

      puts "\n  churn (#{mode}): #{cycles} cycles in #{duration.round(1)} s; before #{baseline}, " \
           "right after the last close #{right_after}, settled #{after}"

      expect(reports.map(&:error).compact).to be_empty
      aggregate_failures("nothing left behind (before #{baseline}, after #{after})") do
        expect(after[:ruby_threads]).to be <= baseline[:ruby_threads]
        expect(after[:native_threads]).to be <= baseline[:native_threads]
        expect(after[:fds]).to be <= baseline[:fds]
      end
      expect(shared.count).to eq(0)
    end
  end
end
