# frozen_string_literal: true

# waterdrop_fd: a WaterDrop-compatible Kafka producer with a Rust core and one FD-based
# poller thread for every producer in the process.
#
# Requiring this file defines the `WaterDrop` constants that applications use
# (`WaterDrop::Producer`, `WaterDrop::Errors`, ...) and the gem's own `WaterdropFd`
# namespace. It replaces the `waterdrop` gem (and `karafka-rdkafka` + `ffi`): the two
# cannot be loaded in one process.

# Upstream waterdrop loaded first (any of its files defines `WaterDrop`): refuse, naming the
# file, instead of mixing two implementations of one namespace.
if defined?(::WaterDrop) && !defined?(::WaterdropFd::VERSION)
  upstream_file = Object.const_source_location(:WaterDrop)&.first
  raise LoadError,
        "waterdrop_fd cannot be loaded: the upstream waterdrop gem is already loaded " \
        "(WaterDrop defined in #{upstream_file || "an unknown file"}). waterdrop_fd provides the same " \
        "WaterDrop::Producer API and replaces it; remove the other `waterdrop` from your Gemfile " \
        "(or do not require it) to use waterdrop_fd."
end

require "securerandom"
require "logger"
require "json"

require_relative "waterdrop_fd/version"
require_relative "waterdrop_fd/upstream_guard"
WaterdropFd::UpstreamGuard.install!
require_relative "waterdrop_fd/errors"
require_relative "waterdrop_fd/redaction"
require_relative "waterdrop_fd/native"
require_relative "waterdrop_fd/latch"
require_relative "waterdrop_fd/delivery_report"
require_relative "waterdrop_fd/delivery_handle"
require_relative "waterdrop_fd/testing/mock_cluster"
require_relative "waterdrop_fd/oauth_bearer"
require_relative "waterdrop_fd/dispatcher"
require_relative "waterdrop_fd/fork_hook"

require_relative "waterdrop/version"
require_relative "waterdrop/gem_root"
require_relative "waterdrop/errors"
require_relative "waterdrop/instrumentation/event"
require_relative "waterdrop/instrumentation/notifications"
require_relative "waterdrop/instrumentation/class_notifications"
require_relative "waterdrop/instrumentation/events"
require_relative "waterdrop/instrumentation/bus_forwarding"
require_relative "waterdrop/instrumentation/monitor"
require_relative "waterdrop/instrumentation/logger_listener"
require_relative "waterdrop/instrumentation/class_monitor"
require_relative "waterdrop/instrumentation/statistics_decorator"
require_relative "waterdrop/instrumentation/idle_disconnector_listener"
require_relative "waterdrop/class_monitor"
require_relative "waterdrop/clients/rdkafka"
require_relative "waterdrop/clients/dummy"
require_relative "waterdrop/clients/buffered"
require_relative "waterdrop/polling/config"
require_relative "waterdrop/polling/poller"
require_relative "waterdrop/polling"
require_relative "waterdrop/config_node"
require_relative "waterdrop/config"
require_relative "waterdrop/contracts/validating"
require_relative "waterdrop/contracts/message"
require_relative "waterdrop/contracts/tombstone"
require_relative "waterdrop/middleware"
require_relative "waterdrop/tags"
require_relative "waterdrop/producer/status"
require_relative "waterdrop/producer/operations_counter"
require_relative "waterdrop/producer/buffer"
require_relative "waterdrop/producer/tombstone"
require_relative "waterdrop/producer/variant"
require_relative "waterdrop/producer/sync"
require_relative "waterdrop/producer/async"
require_relative "waterdrop/producer/transactions"
require_relative "waterdrop/producer/idempotence"
require_relative "waterdrop/producer/instrumentation_setup"
require_relative "waterdrop/producer"
require_relative "waterdrop/connection_pool"
