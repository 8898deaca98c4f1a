# frozen_string_literal: true

module WaterdropFd
  # Fork detection for Ruby forks (`Process._fork`, Ruby >= 3.1). Native forks and
  # `Process.daemon` are covered by a pthread_atfork handler in the extension and by the
  # pid checks every producer entry point makes; this hook only resets Ruby-side state
  # early.
  # @api private
  module ForkHook
    # Called by Ruby around every fork.
    def _fork
      pid = super
      WaterdropFd::ForkHook.after_fork_child if pid.zero?
      pid
    end

    class << self
      # Resets process-wide Ruby state in the child.
      def after_fork_child
        @forks = (@forks || 0) + 1
      end

      # @return [Integer] forks this process went through (as a child)
      def forks = @forks || 0
    end
  end
end

Process.singleton_class.prepend(WaterdropFd::ForkHook) if Process.respond_to?(:_fork)
