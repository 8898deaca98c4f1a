# frozen_string_literal: true

require "spec_helper"

# The native poller hands out the token of the thread that must own its loop; the Ruby side
# then starts that thread. When the start fails, or an interrupt (Timeout, Thread#raise)
# lands between the two, no thread may be left owning the loop on paper only: every
# producer of that poller would then wait for reports nobody serves, and `close` would wait
# for ever. Each scenario runs in its own child process with a bound on time.
RSpec.describe "Poller thread start", timeout: 120 do
  # An asynchronous interrupt (what Timeout.timeout sends) delivered right after the native
  # register returned: Thread#raise on the current thread queues it as any other thread's
  # would, and it is handled at once unless `Thread.handle_interrupt` defers it.
  def interrupt_after_native_register
    trace = TracePoint.new(:c_return) do |tp|
      next unless tp.method_id == :register && tp.defined_class == WaterdropFd::Native::Poller

      trace.disable
      Thread.current.raise(Timeout::Error, "execution expired")
    end
    trace.enable
  end

  def produce_both(cluster, first, second)
    cluster.create_topic("start", partitions: 1)
    error = begin
      first.produce_sync(topic: "start", payload: "interrupted")
      nil
    rescue Exception => e # rubocop:disable Lint/RescueException
      e.class.name
    end
    offsets = [second.produce_sync(topic: "start", payload: "second").offset,
               first.produce_sync(topic: "start", payload: "retried").offset].sort
    first.close
    second.close
    [error, offsets, WaterDrop::Polling::Poller.instance.count]
  end

  it "serves its producers when an interrupt lands right after the native register" do
    result = in_child(timeout: 60) do |cluster|
      require "timeout"
      first = child_producer(cluster, max_wait_timeout: 5_000)
      second = child_producer(cluster, max_wait_timeout: 5_000)
      interrupt_after_native_register
      produce_both(cluster, first, second)
    end

    expect(result).to eq(["Timeout::Error", [0, 1], 0])
  end

  it "serves its producers when the poller thread could not be created" do
    result = in_child(timeout: 60) do |cluster|
      first = child_producer(cluster, max_wait_timeout: 5_000)
      second = child_producer(cluster, max_wait_timeout: 5_000)
      failing = true
      Thread.singleton_class.prepend(Module.new do
        define_method(:new) do |*args, &block|
          if failing
            failing = false
            raise ThreadError, "can't create Thread: Resource temporarily unavailable"
          end
          super(*args, &block)
        end
      end)
      produce_both(cluster, first, second)
    end

    expect(result).to eq(["ThreadError", [0, 1], 0])
  end
end
