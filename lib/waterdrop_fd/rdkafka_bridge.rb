# frozen_string_literal: true

module WaterdropFd
  # Makes this gem's errors rescuable by rdkafka-ruby's names when those exist.
  #
  # Code written for WaterDrop (Karafka included) rescues `Rdkafka::RdkafkaError` and
  # `Rdkafka::AbstractHandle::WaitTimeoutError`. When such a class is defined (by
  # karafka-rdkafka / rdkafka-ruby, loaded before or after this gem, or by the opt-in
  # `require "waterdrop_fd/rdkafka_compat"`), {WaterdropFd::RdkafkaError} and
  # {WaterdropFd::WaitTimeoutError} build their instances from a subclass of it, made once
  # per counterpart class: `rescue Rdkafka::RdkafkaError` and `is_a?` then match for real,
  # and the error still answers to this gem's names (`rescue WaterdropFd::RdkafkaError`,
  # `rescue WaterdropFd::Error`, `is_a?`). Without such a class nothing changes.
  #
  # Extended into {WaterdropFd::Error}: its `===` (used by `rescue`) and the bridged
  # classes' `is_a?` keep this gem's hierarchy.
  module RdkafkaBridge
    # rdkafka-ruby's counterpart of each bridged class (a constant path).
    COUNTERPARTS = {
      "WaterdropFd::RdkafkaError" => "Rdkafka::RdkafkaError",
      "WaterdropFd::WaitTimeoutError" => "Rdkafka::AbstractHandle::WaitTimeoutError"
    }.freeze

    # Instance methods of every bridged class.
    module Kinship
      # @param mod [Module]
      # @return [Boolean] true also for this gem's class and its ancestors
      def is_a?(mod)
        super || (self.class.waterdrop_fd_class <= mod) == true
      end
      alias kind_of? is_a?
    end

    @bridges = {}
    @lock = Mutex.new

    class << self
      # @param klass [Class] a bridged class of this gem
      # @return [Class, nil] the subclass of the counterpart to instantiate, or nil when
      #   the counterpart does not exist (or already is an ancestor)
      def bridge_for(klass)
        counterpart = counterpart_of(klass)
        return nil unless counterpart.is_a?(Class) && !(klass <= counterpart)

        cached = @bridges[klass]
        return cached if cached && cached.superclass.equal?(counterpart)

        @lock.synchronize { @bridges[klass] = build(klass, counterpart) }
      end

      private

      def counterpart_of(klass)
        path = COUNTERPARTS[klass.name]
        return nil unless path && defined?(::Rdkafka)

        path.split("::").inject(Object) do |scope, name|
          return nil unless scope.const_defined?(name, false)

          scope.const_get(name, false)
        end
      end

      # Named `WaterdropFd::RdkafkaBridge::<name>` (so that it can be marshalled).
      def build(klass, counterpart)
        bridged = Class.new(counterpart)
        bridged.include(RdkafkaErrorMethods) if klass <= RdkafkaError
        bridged.include(Kinship)
        bridged.define_singleton_method(:waterdrop_fd_class) { klass }
        name = klass.name.split("::").last
        send(:remove_const, name) if const_defined?(name, false)
        const_set(name, bridged)
      end
    end

    # `rescue WaterdropFd::Error` (and its subclasses) also matches a bridged instance.
    # @param other [Object]
    # @return [Boolean]
    def ===(other)
      super || (other.class.respond_to?(:waterdrop_fd_class) && (other.class.waterdrop_fd_class <= self) == true)
    end

    # Instantiates the bridged subclass when the counterpart exists.
    def new(...)
      bridged = RdkafkaBridge.bridge_for(self)
      bridged ? bridged.new(...) : super
    end

    # `raise Klass, message` builds the error through `exception`.
    def exception(...) = new(...)
  end
end
