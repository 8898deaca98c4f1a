# frozen_string_literal: true

# Opt-in: defines the rdkafka-ruby names that code written for WaterDrop refers to, for an
# application that runs waterdrop_fd without karafka-rdkafka / rdkafka-ruby:
#
# - `Rdkafka::BaseError`, `Rdkafka::RdkafkaError` — this gem's librdkafka errors are
#   `Rdkafka::RdkafkaError`s (see {WaterdropFd::RdkafkaBridge});
# - `Rdkafka::AbstractHandle`, `Rdkafka::AbstractHandle::WaitTimeoutError` — a delivery
#   wait that times out is rescued by it;
# - `Rdkafka::Producer::DeliveryHandle` / `DeliveryReport` — this gem's handles and reports
#   match them (`case`/`when`, `rescue`-style `===`, `is_a?`).
#
# Every name already defined is left alone, and each class is declared with rdkafka-ruby's
# superclass, so a later `require "rdkafka"` reopens them instead of failing.
#
# @example
#   require "waterdrop_fd"
#   require "waterdrop_fd/rdkafka_compat"
#   begin
#     producer.produce_sync(topic: "events", payload: "x")
#   rescue WaterDrop::Errors::ProduceError => e
#     retry if e.cause.is_a?(Rdkafka::RdkafkaError) && e.cause.code == :queue_full
#   end

require_relative "../waterdrop_fd" unless defined?(WaterdropFd::RdkafkaError)

begin
  # rdkafka-ruby's AbstractHandle is an FFI::Struct; when ffi is installed (it always is
  # where rdkafka can be) the compat class must have the same superclass.
  require "ffi"
rescue LoadError
  nil
end

require_relative "rdkafka_compat/base_error"
require_relative "rdkafka_compat/rdkafka_error"
require_relative "rdkafka_compat/abstract_handle"
require_relative "rdkafka_compat/wait_timeout_error"
require_relative "rdkafka_compat/producer"
require_relative "rdkafka_compat/delivery_handle"
require_relative "rdkafka_compat/delivery_report"
