# frozen_string_literal: true

module WaterdropFd
  # A second fork detector, for Ruby forks (`Process._fork`, Ruby >= 3.1). The per-process
  # epoch (`WaterdropFd::Native.fork_generation`) is advanced natively, in every forked child,
  # by a `pthread_atfork` handler; this hook only makes sure it advanced, should that handler
  # be missing (its installation can fail). Nothing else is reset here: each owner of
  # per-process state resets it when it sees a new epoch (`WaterDrop::Producer#adopt_process`,
  # the pollers).
  # @api private
  module ForkHook
    # Called by Ruby around every fork.
    def _fork
      epoch = WaterdropFd::Native.fork_generation
      pid = super
      WaterdropFd::Native.advance_fork_generation if pid.zero? && WaterdropFd::Native.fork_generation == epoch
      pid
    end
  end
end

Process.singleton_class.prepend(WaterdropFd::ForkHook) if Process.respond_to?(:_fork)
