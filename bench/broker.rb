# frozen_string_literal: true

require "open3"
require "timeout"

module Bench
  # The broker under test: KAFKA_BOOTSTRAP_SERVERS, or librdkafka's mock cluster started as a
  # separate process (bin/mock-kafka), so this process and rawbench talk to the same broker
  # and the cluster's threads are not counted in this process's figures.
  class Broker
    MOCK = File.expand_path("../bin/mock-kafka", __dir__)

    attr_reader :servers, :description

    def initialize(topic:, partitions:)
      if (servers = ENV["KAFKA_BOOTSTRAP_SERVERS"]) && !servers.empty?
        @servers = servers
        @description = "Kafka at #{servers} (KAFKA_BOOTSTRAP_SERVERS), topic `#{topic}`"
      else
        start_mock(topic, partitions)
        @description = "librdkafka mock cluster, 3 brokers, separate process (bin/mock-kafka), " \
                       "topic `#{topic}` with #{partitions} partitions"
      end
    end

    def stop
      return unless @wait

      Process.kill("TERM", @wait.pid)
      @wait.value
    rescue Errno::ESRCH
      nil
    end

    private

    def start_mock(topic, partitions)
      stdin, @stdout, @wait = Open3.popen2(RbConfig.ruby, MOCK, "--brokers", "3", "--topic", "#{topic}:#{partitions}")
      stdin.close
      line = Timeout.timeout(30) { @stdout.gets }
      raise "bin/mock-kafka printed nothing" unless line

      @servers = line.strip
    end
  end
end
