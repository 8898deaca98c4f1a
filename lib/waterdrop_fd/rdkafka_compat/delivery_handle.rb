# frozen_string_literal: true

module Rdkafka
  class Producer
    unless const_defined?(:DeliveryHandle, false)
      # rdkafka-ruby's delivery handle name (defined by `waterdrop_fd/rdkafka_compat`): it
      # matches waterdrop_fd's {WaterdropFd::DeliveryHandle}, which is what producers return.
      class DeliveryHandle < AbstractHandle
        # @param other [Object]
        # @return [Boolean] true for waterdrop_fd's delivery handles too
        def self.===(other) = super || other.is_a?(WaterdropFd::DeliveryHandle)
      end

      WaterdropFd::DeliveryHandle.prepend(
        Module.new do
          # @return [Boolean] true also for Rdkafka::Producer::DeliveryHandle
          def is_a?(mod) = super || mod.equal?(::Rdkafka::Producer::DeliveryHandle)
          alias_method :kind_of?, :is_a?
        end
      )
    end
  end
end
