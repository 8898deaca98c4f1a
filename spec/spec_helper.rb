# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "waterdrop_fd"
require "timeout"

Dir[File.join(__dir__, "support", "**", "*.rb")].sort.each { |f| require f }

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.disable_monkey_patching!
  config.order = :random
  Kernel.srand config.seed
  config.include SpecHelpers

  # Every example has a hard deadline: a hang is a failure, never a stuck CI.
  config.around do |example|
    limit = example.metadata.fetch(:timeout, 120)
    Timeout.timeout(limit, Timeout::Error, "example exceeded #{limit}s") { example.run }
  end

  # Broker specs run only when a real broker is given (CI always gives one).
  config.filter_run_excluding(broker: true) unless ENV["KAFKA_BOOTSTRAP_SERVERS"]
  # Cluster specs need the three-node cluster of bin/kafka-cluster (CI starts it).
  config.filter_run_excluding(cluster: true) unless ENV["KAFKA_CLUSTER_BOOTSTRAP_SERVERS"]
end
