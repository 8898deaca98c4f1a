# frozen_string_literal: true

require "open3"
require "timeout"

# A mock Kafka cluster in its own process (bin/mock-kafka), for specs that fork: the
# cluster must not live in a process whose children use it.
class ExternalMockCluster
  BIN = File.expand_path("../../bin/mock-kafka", __dir__)

  attr_reader :bootstrap_servers

  # @param topics [Hash{String => Integer}] topics to create, with their partition counts
  def self.start(brokers: 3, topics: {})
    args = ["--brokers", brokers.to_s]
    topics.each { |name, partitions| args.push("--topic", "#{name}:#{partitions}") }
    new(args)
  end

  def initialize(args)
    @stdin, @stdout, @wait = Open3.popen2(RbConfig.ruby, BIN, *args)
    @stdin.close
    line = Timeout.timeout(30) { @stdout.gets }
    raise "bin/mock-kafka printed nothing" unless line

    @bootstrap_servers = line.strip
  end

  # Reads every message of a topic (payloads) with kcat.
  def read_payloads(topic)
    out, err, status = Open3.capture3("kcat", "-b", bootstrap_servers, "-C", "-t", topic, "-o", "beginning",
                                      "-e", "-q", "-f", "%s\n")
    raise "kcat failed: #{err}" unless status.success?

    out.lines.map(&:chomp)
  end

  def stop
    Process.kill("TERM", @wait.pid)
    @wait.value
  rescue Errno::ESRCH
    nil
  end
end
