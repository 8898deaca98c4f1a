# frozen_string_literal: true

module Bench
  # Throughput on the replicated cluster of bin/kafka-cluster (KAFKA_CLUSTER_BOOTSTRAP_SERVERS:
  # three nodes, replication factor 3, min.insync.replicas 2, acks=all), `:fd` polling only, so
  # the cost of replication shows beside the single broker's `:fd` column of {Throughput}.
  # Same APIs and measurement as {Throughput}; the cases are 1 and 25 producers x the largest
  # message count.
  class ClusterThroughput < Throughput
    PRODUCERS = [1, 25].freeze

    # @return [String, nil] the cluster's bootstrap list, nil when none is given
    def self.servers
      servers = ENV.fetch("KAFKA_CLUSTER_BOOTSTRAP_SERVERS", "")
      servers.empty? ? nil : servers
    end

    # @param settings [Settings] the run's settings; a copy is pointed at the cluster
    def initialize(settings, progress)
      cluster = settings.dup
      cluster.servers = self.class.servers
      cluster.topic = "#{settings.topic}-cluster"
      cluster.producers = PRODUCERS
      cluster.messages = [settings.messages.max]
      cluster.kafka = settings.kafka.merge("request.required.acks": "all")
      super(cluster, nil, progress)
    end

    def run
      @progress.section("cluster", @s.reps * @s.producers.size * APIS.size)
      @s.reps.times { |rep| run_mode(:fd, rep) }
      settle
    end
  end
end
