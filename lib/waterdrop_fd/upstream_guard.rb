# frozen_string_literal: true

module WaterdropFd
  # Refuses the upstream `waterdrop` gem's files once this gem is loaded: both define the
  # `WaterDrop` namespace, and a mix of the two (one gem's Producer with the other's
  # clients) fails later in ways that are hard to trace. Upstream loaded *first* is caught
  # by lib/waterdrop_fd.rb itself; this catches upstream loaded *after*.
  #
  # It watches class and module bodies (a TracePoint on `:class`, which fires only when a
  # `class`/`module` keyword runs, never on the produce path) and raises LoadError for a
  # body opened by one of the upstream gem's files (see UPSTREAM_PATH) that is not one of
  # this gem's.
  # @api private
  module UpstreamGuard
    # This gem's lib directory (its own files are allowed).
    OWN_LIB = "#{File.expand_path("..", __dir__)}/".freeze
    # The layout of the upstream gem's files: `<dir>/lib/waterdrop.rb` or
    # `<dir>/lib/waterdrop/...`, where `<dir>` is an installed gem (`waterdrop-2.10.3`), a
    # Bundler git checkout (`waterdrop-<sha>`) or a clone (`waterdrop`). An application's own
    # `lib/waterdrop/` (patches, listeners) does not match.
    UPSTREAM_PATH = %r{/waterdrop(?:-[^/]+)?/lib/waterdrop(?:\.rb\z|/)}

    class << self
      # Starts watching (once per process).
      # @return [void]
      def install!
        @install_mutex ||= Thread::Mutex.new
        @install_mutex.synchronize do
          @trace ||= TracePoint.new(:class) { |tp| check!(tp.path) }.tap(&:enable)
        end
        nil
      end

      # @param path [String] the file that opened a class or module body
      # @return [void]
      # @raise [LoadError] when `path` is one of the upstream waterdrop gem's files
      def check!(path)
        return unless path && UPSTREAM_PATH.match?(path) && !path.start_with?(OWN_LIB)

        raise LoadError,
              "#{path} belongs to the upstream waterdrop gem, but waterdrop_fd is already loaded " \
              "(from #{OWN_LIB.chomp("/")}) and provides the WaterDrop namespace itself; the two cannot " \
              "be mixed in one process. Remove the other waterdrop gem from the bundle " \
              "(keep `gem \"waterdrop\", path:/git:` pointing at waterdrop_fd, or `gem \"waterdrop_fd\"`)."
      end
    end
  end
end
