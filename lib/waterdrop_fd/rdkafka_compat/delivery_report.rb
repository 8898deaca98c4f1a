# frozen_string_literal: true

module Rdkafka
  class Producer
    unless const_defined?(:DeliveryReport, false)
      # rdkafka-ruby's delivery report name (defined by `waterdrop_fd/rdkafka_compat`):
      # waterdrop_fd's {WaterdropFd::DeliveryReport} matches it, and it can be built with
      # rdkafka-ruby's arguments (in tests).
      class DeliveryReport < WaterdropFd::DeliveryReport
        # @param other [Object]
        # @return [Boolean] true for waterdrop_fd's delivery reports too
        def self.===(other) = super || other.is_a?(WaterdropFd::DeliveryReport)
      end

      WaterdropFd::DeliveryReport.prepend(
        Module.new do
          # @return [Boolean] true also for Rdkafka::Producer::DeliveryReport
          def is_a?(mod) = super || mod.equal?(::Rdkafka::Producer::DeliveryReport)
          alias_method :kind_of?, :is_a?
        end
      )
    end
  end
end
