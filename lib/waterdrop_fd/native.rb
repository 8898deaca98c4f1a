# frozen_string_literal: true

require "rbconfig"

module WaterdropFd
  # Finds and loads the compiled extension.
  #
  # The precompiled platform gem (`waterdrop_fd-<version>-x86_64-linux.gem`) ships one build
  # per Ruby minor, `lib/waterdrop_fd/<major.minor>/waterdrop_fd.so`, because an extension is
  # tied to the ABI of the Ruby it was compiled against. A source build (the plain gem, or
  # `rake compile` in a checkout) leaves a single `waterdrop_fd/waterdrop_fd.so` instead.
  module NativeLoader
    # The Ruby minors this copy of the gem carries precompiled extensions for, e.g. ["3.1", "3.3"].
    # @return [Array<String>]
    def self.precompiled_minors
      dlext = RbConfig::CONFIG.fetch("DLEXT")
      Dir.glob(File.join(__dir__, "[0-9]*.[0-9]*", "waterdrop_fd.#{dlext}"))
         .map { |path| File.basename(File.dirname(path)) }
         .sort_by { |minor| minor.split(".").map(&:to_i) }
    end

    # Loads the extension built for the running Ruby.
    # @raise [LoadError] when neither a build for this Ruby minor nor a source build exists
    def self.load!
      minor = RUBY_VERSION[/\A\d+\.\d+/]
      dlext = RbConfig::CONFIG.fetch("DLEXT")
      precompiled = File.join(__dir__, minor, "waterdrop_fd.#{dlext}")
      return require(File.join(__dir__, minor, "waterdrop_fd")) if File.file?(precompiled)

      begin
        require "waterdrop_fd/waterdrop_fd"
      rescue LoadError => e
        built_for = precompiled_minors
        raise if built_for.empty?

        raise LoadError,
              "waterdrop_fd #{WaterdropFd::VERSION} was precompiled for Ruby #{built_for.join(', ')} " \
              "(#{RbConfig::CONFIG['arch']}), not for Ruby #{RUBY_VERSION}. Install the source gem, which " \
              "compiles the extension for your Ruby (it needs Rust, cmake and clang): " \
              "gem install waterdrop_fd --platform ruby. (#{e.message})"
      end
    end
  end
end

WaterdropFd::NativeLoader.load!
