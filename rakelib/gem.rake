# frozen_string_literal: true

require "tmpdir"
require_relative "support"

wfd = WaterdropFdTasks

# Run in a fresh Ruby, from outside the checkout, against a GEM_HOME holding only the
# installed gem: proves the packaged gem (not ./lib) loads, native extension included.
load_check = <<~'RUBY'
  home = File.realpath(ENV.fetch("GEM_HOME"))
  repo = File.realpath(ENV.fetch("WATERDROP_FD_REPO"))
  # Some entries are bare names of built-in features (e.g. "enumerator.so").
  real = ->(path) { File.exist?(path) ? File.realpath(path) : path }
  require "waterdrop_fd"
  require "waterdrop_fd/waterdrop_fd"
  features = $LOADED_FEATURES.grep(/waterdrop/)
  abort "gem:check: nothing named waterdrop* in $LOADED_FEATURES" if features.empty?
  stray = features.reject { |f| real.(f).start_with?("#{home}/") }
  abort "gem:check: loaded from outside #{home}: #{stray.inspect}" unless stray.empty?
  from_repo = $LOADED_FEATURES.select { |f| real.(f).start_with?("#{repo}/") }
  abort "gem:check: loaded from the checkout: #{from_repo.inspect}" unless from_repo.empty?
  native = features.find { |f| f.end_with?("/waterdrop_fd/waterdrop_fd.#{RbConfig::CONFIG['DLEXT']}") }
  abort "gem:check: native extension not in $LOADED_FEATURES: #{features.inspect}" unless native
  expected = ENV.fetch("WATERDROP_FD_EXPECTED_VERSION")
  unless WaterdropFd::VERSION == expected
    abort "gem:check: VERSION is #{WaterdropFd::VERSION.inspect}, expected #{expected.inspect}"
  end
  puts "  #{features.size} files loaded, all from #{home}"
  puts "  native extension: #{native}"
  puts "  WaterdropFd::VERSION = #{WaterdropFd::VERSION}"
RUBY

namespace :gem do
  gemspec_path = File.join(wfd::ROOT, "waterdrop_fd.gemspec")
  pkg_dir = File.join(wfd::ROOT, "pkg")

  desc "Build pkg/waterdrop_fd-<version>.gem"
  task :build do
    spec = Gem::Specification.load(gemspec_path)
    gem_file = File.join(pkg_dir, "#{spec.full_name}.gem")
    FileUtils.mkdir_p(pkg_dir)
    FileUtils.rm_f(gem_file)
    wfd.unbundled do
      sh "gem", "build", gemspec_path, "--output", gem_file, chdir: wfd::ROOT
    end
  end

  desc "Build the gem, install it offline into a temporary GEM_HOME and require it from there"
  task check: :build do
    started = wfd.monotonic
    spec = Gem::Specification.load(gemspec_path)
    gem_file = File.join(pkg_dir, "#{spec.full_name}.gem")
    # Shared between runs so repeated installs only recompile what changed.
    cargo_target = ENV.fetch("WATERDROP_FD_GEM_TARGET_DIR", File.join(wfd::ROOT, "target", "gem-install"))
    wfd.ensure_cargo_on_path!
    # RubyGems exports SOURCE_DATE_EPOCH=<now> to extension builds when it is unset, and
    # the C-building -sys crates (cc-rs) rerun on any change to it: without a fixed value
    # every install would rebuild librdkafka, curl, openssl, zlib and zstd (~1 min).
    source_date_epoch = ENV.fetch("SOURCE_DATE_EPOCH", "315619200")

    Dir.mktmpdir("waterdrop_fd-gem-home-") do |gem_home|
      env = {
        "GEM_HOME" => gem_home,
        "GEM_PATH" => gem_home,
        "CARGO_TARGET_DIR" => cargo_target,
        "SOURCE_DATE_EPOCH" => source_date_epoch,
        "RUBYOPT" => nil,
        "RUBYLIB" => nil,
        "BUNDLE_GEMFILE" => nil
      }
      wfd.unbundled do
        wfd.timed("gem install (extension build)") do
          sh env, "gem", "install", "--local", "--no-document", "--install-dir", gem_home, gem_file
        end
        Dir.mktmpdir("waterdrop_fd-gem-check-") do |elsewhere|
          wfd.timed("require from the installed gem") do
            puts "#{Gem.ruby} -e <load check> (GEM_HOME=#{gem_home}, cwd #{elsewhere}, no -Ilib)"
            sh env.merge("WATERDROP_FD_EXPECTED_VERSION" => spec.version.to_s, "WATERDROP_FD_REPO" => wfd::ROOT),
               Gem.ruby, "-e", load_check, chdir: elsewhere, verbose: false
          end
        end
      end
    end
    puts format("==> gem:check passed in %.1fs", wfd.monotonic - started)
  end
end
