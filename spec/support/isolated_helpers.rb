# frozen_string_literal: true

# Runs a scenario in a forked child with its own mock cluster, so that a poller-thread or
# re-entrancy scenario that hangs fails one example (the child is killed at the bound) and
# leaves no stuck thread behind. The block's value travels back to the parent (Marshal).
module IsolatedHelpers
  # @param timeout [Integer] seconds the child may run
  # @yieldparam cluster [WaterdropFd::Testing::MockCluster] the child's own cluster
  # @return [Object] the block's value
  def in_child(timeout: 60)
    reader, writer = IO.pipe
    pid = fork_child do
      reader.close
      cluster = WaterdropFd::Testing::MockCluster.new(brokers: 1)
      value = begin
        [:ok, yield(cluster)]
      rescue Exception => e # rubocop:disable Lint/RescueException
        [:error, "#{e.class}: #{e.message}\n#{e.backtrace&.first(10)&.join("\n")}"]
      end
      writer.write(Marshal.dump(value))
      writer.close
      true
    end
    writer.close
    data = +""
    reader_thread = Thread.new { data << reader.read }
    wait_children([pid], timeout: timeout)
    reader_thread.join
    reader.close
    raise "the child (pid #{pid}) reported nothing" if data.empty?

    status, value = Marshal.load(data) # rubocop:disable Security/MarshalLoad
    raise "the child failed: #{value}" if status == :error

    value
  end

  # A producer on `cluster`, for use inside {#in_child}.
  def child_producer(cluster, kafka: {}, **settings)
    WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": cluster.bootstrap_servers }.merge(kafka)
      config.logger = Logger.new(File::NULL)
      settings.each { |key, value| config.public_send(:"#{key}=", value) }
    end
  end
end

RSpec.configure { |c| c.include IsolatedHelpers }
