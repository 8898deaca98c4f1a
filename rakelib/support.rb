# frozen_string_literal: true

# Helpers shared by the rakelib/*.rake files (each of which requires this file).

require "fileutils"
require "rbconfig"
require "shellwords"

module WaterdropFdTasks
  ROOT = File.expand_path("..", __dir__)
  CRATE = "waterdrop_fd"
  DLEXT = RbConfig::CONFIG.fetch("DLEXT")
  # Where `rake compile` puts the extension so `require "waterdrop_fd/waterdrop_fd"` finds it.
  EXT_DEST = File.join(ROOT, "lib", "waterdrop_fd", "waterdrop_fd.#{DLEXT}")

  module_function

  # Rustup installs into ~/.cargo/bin, which non-login shells often lack.
  def ensure_cargo_on_path!
    return if executable_on_path?("cargo")

    cargo_bin = File.join(ENV.fetch("CARGO_HOME", File.join(Dir.home, ".cargo")), "bin")
    if File.executable?(File.join(cargo_bin, "cargo"))
      ENV["PATH"] = [cargo_bin, ENV.fetch("PATH", "")].join(File::PATH_SEPARATOR)
    else
      abort "cargo not found on PATH or in #{cargo_bin}: install Rust (https://rustup.rs), then run bin/setup"
    end
  end

  def require_cargo_subcommand!(subcommand, component: subcommand)
    return if system("cargo", subcommand, "--version", out: File::NULL, err: File::NULL)

    abort "cargo #{subcommand} is missing: run `rustup component add #{component}` (bin/setup does this)"
  end

  def executable_on_path?(name)
    ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).any? do |dir|
      path = File.join(dir, name)
      File.file?(path) && File.executable?(path)
    end
  end

  # WATERDROP_FD_PROFILE=dev selects cargo's debug profile; anything else is release.
  def cargo_profile
    ENV["WATERDROP_FD_PROFILE"] == "dev" ? "dev" : "release"
  end

  # The directory under the target dir that a profile writes into.
  def profile_dir(profile = cargo_profile)
    profile == "dev" ? "debug" : profile
  end

  def target_dir
    dir = ENV["CARGO_TARGET_DIR"]
    dir && !dir.empty? ? File.expand_path(dir, ROOT) : File.join(ROOT, "target")
  end

  def cdylib_name
    "#{RbConfig::CONFIG['LIBPREFIX'] || 'lib'}#{CRATE}.#{RbConfig::CONFIG['SOEXT'] || DLEXT}"
  end

  # Command prefix that runs a gem's executable with the current Ruby. Under
  # `bundle exec` the bundle's version is picked (RUBYOPT carries bundler/setup).
  def gem_exe(gem_name, exe_name = gem_name)
    [Gem.ruby, Gem.bin_path(gem_name, exe_name)]
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def timed(label)
    started = monotonic
    result = yield
    puts format("==> %<label>s took %<secs>.1fs", label: label, secs: monotonic - started)
    result
  end

  # Runs the block with the environment as it was before Bundler changed it.
  def unbundled(&block)
    if defined?(Bundler) && Bundler.respond_to?(:with_unbundled_env)
      Bundler.with_unbundled_env(&block)
    else
      yield
    end
  end
end
