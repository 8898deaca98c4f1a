# frozen_string_literal: true

require "spec_helper"
require "rbconfig"

# The first producers of a process may be connected from several threads at once (Puma or
# Sidekiq threads right after boot). Nothing native may then wait, with the GVL held, for
# another Ruby thread that is itself waiting for the GVL.
#
# Runs in a fresh process (first use happens once per process). The child makes the
# constant lookups of `WaterdropFd::` classes slow (they release the GVL, as a timer
# interrupt may at any time), which turns a rare interleaving into a certain one.
RSpec.describe "Concurrent first use in a fresh process" do
  let(:lib) { File.expand_path("../../lib", __dir__) }

  let(:child) do
    <<~RUBY
      $stdout.sync = true
      $LOAD_PATH.unshift(#{lib.inspect})
      require "waterdrop_fd"
      cluster = WaterdropFd::Testing::MockCluster.new(brokers: 1)
      cluster.create_topic("first-use", partitions: 1)
      Object.singleton_class.prepend(Module.new do
        def const_get(name, *rest)
          sleep 0.2 if name.to_s.start_with?("WaterdropFd::")
          super
        end
      end)
      producers = Array.new(4) do
        WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": cluster.bootstrap_servers } }
      end
      threads = producers.map do |p|
        Thread.new { p.produce_async(topic: "first-use", payload: "x").wait(max_wait_timeout_ms: 10_000) }
      end
      threads.each(&:join)
      producers.each(&:close)
      puts "delivered"
    RUBY
  end

  it "connects and delivers from several threads at once without deadlock" do
    reader, writer = IO.pipe
    pid = Process.spawn(RbConfig.ruby, "-e", child, out: writer, err: writer)
    writer.close
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    status = nil
    until (status = Process.wait2(pid, Process::WNOHANG)&.last)
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        # A process deadlocked with the GVL held does not even handle SIGTERM.
        Process.kill(:KILL, pid)
        Process.wait(pid)
        break
      end
      sleep 0.05
    end
    output = reader.read
    reader.close

    expect(status).not_to be_nil, "the child process hung (killed after 30 s); output:\n#{output}"
    expect(status.success?).to be(true), "child failed: #{status.inspect}\n#{output}"
    expect(output).to include("delivered")
  end
end
