# frozen_string_literal: true

require "securerandom"
require "socket"

# Helpers shared by every spec.
module SpecHelpers
  # One mock cluster for the whole run (librdkafka's mock brokers, in this process).
  def self.mock_cluster
    @mock_cluster ||= WaterdropFd::Testing::MockCluster.new(brokers: 3)
  end

  # @return [WaterdropFd::Testing::MockCluster]
  def mock_cluster = SpecHelpers.mock_cluster

  # A local TCP port that nothing listens on right now (the kernel's pick, released again).
  # @return [Integer]
  def self.unused_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  # A fresh topic name on the mock cluster (created with `partitions`).
  def mock_topic(partitions: 1)
    name = "it-#{SecureRandom.hex(6)}"
    mock_cluster.create_topic(name, partitions: partitions)
    name
  end

  # Builds a producer against the mock cluster; closed after the example.
  # @param kafka [Hash] extra librdkafka settings
  def build_producer(kafka: {}, **settings)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": mock_cluster.bootstrap_servers }.merge(kafka)
      settings.each do |key, value|
        if key == :polling
          value.each do |pk, pv|
            if pk == :fd
              pv.each { |fk, fv| config.polling.fd.public_send(:"#{fk}=", fv) }
            else
              config.polling.public_send(:"#{pk}=", pv)
            end
          end
        else
          config.public_send(:"#{key}=", value)
        end
      end
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  # Ruby threads alive now.
  def ruby_thread_count = Thread.list.count(&:alive?)

  # Open file descriptors of this process.
  def fd_count = Dir.children("/proc/self/fd").size

  # Polls a condition (for state that settles asynchronously), failing after `timeout`.
  def wait_until(timeout: 10, interval: 0.01)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (result = yield)
      raise "condition not met within #{timeout}s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep interval
    end
    result
  end
end

RSpec.configure do |config|
  config.after do
    (@producers_to_close || []).each do |p|
      p.close! unless p.status.closed?
    rescue StandardError => e
      warn "closing a producer after the example failed: #{e.class}: #{e.message}"
    end
  end
end
