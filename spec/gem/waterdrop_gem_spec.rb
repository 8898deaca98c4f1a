# frozen_string_literal: true

require "bundler"
require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"

# The gem under the name `waterdrop` (waterdrop.gemspec), as a Karafka app would get it:
# both gems built from this tree and installed offline into an empty GEM_HOME beside a
# stand-in for Karafka (a gem that depends on `waterdrop >= 2.8.14, < 3.0.0` and requires
# rdkafka-like code before `require "waterdrop"`), then resolved and loaded by Bundler.
#
# Cost: `gem install` compiles the Rust extension once per gem (release profile). Both
# builds share one cargo target dir (WATERDROP_FD_GEM_TARGET_DIR, default target/gem-install,
# the one `rake gem:check` uses), so only the first run builds librdkafka; later runs
# recompile just this crate, twice. Measured on the shared 2-core machine under load
# (load average ~30): first run 21 min (librdkafka and every dependency cold), later runs
# 130-204 s.
RSpec.describe "the waterdrop gem built from waterdrop.gemspec", timeout: 3600 do
  root = File.expand_path("../..", __dir__)

  # Runs a command outside this bundle; fails the example with its output when it fails.
  def run!(env, *cmd, chdir:)
    out, status = Bundler.with_unbundled_env { Open3.capture2e(env, *cmd, chdir: chdir) }
    raise "#{cmd.join(" ")} failed (#{status.exitstatus}):\n#{out}" unless status.success?

    log(out)
    out
  end

  def log(text)
    path = ENV["WATERDROP_FD_GEM_SPEC_LOG"]
    File.write(path, text, mode: "a") if path
  end

  def write_standin(dir)
    FileUtils.mkdir_p(File.join(dir, "lib"))
    File.write(File.join(dir, "karafka_standin.gemspec"), <<~RUBY)
      Gem::Specification.new do |s|
        s.name = "karafka_standin"
        s.version = "0.1.0"
        s.summary = "Stands in for karafka: depends on waterdrop like karafka does"
        s.authors = ["spec"]
        s.files = ["lib/karafka_standin.rb", "lib/rdkafka_standin.rb"]
        s.add_dependency "waterdrop", ">= 2.8.14", "< 3.0.0"
      end
    RUBY
    File.write(File.join(dir, "lib", "rdkafka_standin.rb"), <<~RUBY)
      # What karafka-rdkafka defines before Karafka requires waterdrop.
      module Rdkafka
        class RdkafkaError < RuntimeError; end
        class Config; end
      end
    RUBY
    File.write(File.join(dir, "lib", "karafka_standin.rb"), <<~RUBY)
      require "rdkafka_standin"
      require "waterdrop"

      module KarafkaStandin
        def self.producer
          WaterDrop::Producer.new do |c|
            c.deliver = false
            c.kafka = { "bootstrap.servers": "127.0.0.1:9" }
          end
        end
      end
    RUBY
  end

  # Printed by `bundle exec ruby` in the app: what Bundler.require loaded.
  probe = <<~'RUBY'
    Bundler.require
    spec = Gem.loaded_specs["waterdrop"]
    abort "Gem.loaded_specs[\"waterdrop\"] is nil" unless spec
    native = $LOADED_FEATURES.find { |f| f.end_with?("/waterdrop_fd/waterdrop_fd.so") }
    report = KarafkaStandin.producer.produce_sync(topic: "events", payload: "hi")
    puts "waterdrop spec: #{spec.full_name} at #{spec.full_gem_path}"
    puts "WaterDrop::VERSION=#{WaterDrop::VERSION} WaterdropFd::VERSION=#{WaterdropFd::VERSION}"
    puts "Producer from: #{WaterDrop::Producer.instance_method(:close).source_location.first}"
    puts "native extension: #{native}"
    puts "Rdkafka::RdkafkaError defined: #{defined?(Rdkafka::RdkafkaError).inspect}"
    puts "produce_sync: topic=#{report.topic_name} offset=#{report.offset}"
  RUBY

  it "resolves for a gem that depends on waterdrop, and Bundler.require loads this gem" do
    Dir.mktmpdir("waterdrop-gem-spec-") do |tmp|
      home = File.join(tmp, "home")
      pkg = File.join(tmp, "pkg")
      standin = File.join(tmp, "karafka_standin")
      app = File.join(tmp, "app")
      FileUtils.mkdir_p([home, pkg, app])
      env = {
        "GEM_HOME" => home, "GEM_PATH" => home,
        "CARGO_TARGET_DIR" => ENV.fetch("WATERDROP_FD_GEM_TARGET_DIR", File.join(root, "target", "gem-install")),
        # RubyGems exports SOURCE_DATE_EPOCH=<now> when unset; fixed, librdkafka is not rebuilt each run.
        "SOURCE_DATE_EPOCH" => ENV.fetch("SOURCE_DATE_EPOCH", "315619200"),
        "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_GEMFILE" => nil
      }
      gem = [RbConfig.ruby, "-S", "gem"]
      bundle = [RbConfig.ruby, "-S", "bundle"]

      run!(env, *gem, "build", "waterdrop_fd.gemspec", "--output", File.join(pkg, "waterdrop_fd.gem"), chdir: root)
      run!(env, *gem, "build", "waterdrop.gemspec", "--output", File.join(pkg, "waterdrop.gem"), chdir: root)
      write_standin(standin)
      run!(env, *gem, "build", "karafka_standin.gemspec", "--output", File.join(pkg, "standin.gem"), chdir: standin)

      %w[waterdrop_fd waterdrop].each do |name|
        run!(env, *gem, "install", "--local", "--no-document", "--install-dir", home, File.join(pkg, "#{name}.gem"),
             chdir: pkg)
      end
      # RubyGems' own resolver never lets a prerelease (2.10.3.fd.1) satisfy `>= 2.8.14`, even
      # with --prerelease: outside Bundler, a gem depending on waterdrop cannot be installed
      # against this one. Bundler can (below), which is how the README says to use it.
      standin_gem = File.join(pkg, "standin.gem")
      refused, status = Bundler.with_unbundled_env do
        Open3.capture2e(env, *gem, "install", "--local", "--no-document", "--prerelease", "--install-dir", home,
                        standin_gem, chdir: pkg)
      end
      expect(status.success?).to be(false)
      expect(refused).to include("Could not find a valid gem 'waterdrop' (>= 2.8.14, < 3.0.0)")
      run!(env, *gem, "install", "--local", "--no-document", "--ignore-dependencies", "--install-dir", home, standin_gem,
           chdir: pkg)
      installed = Dir.children(File.join(home, "specifications")).sort
      expect(installed).to eq(
        %w[karafka_standin-0.1.0.gemspec waterdrop-2.10.3.fd.1.gemspec waterdrop_fd-0.1.0.gemspec]
      )
      real_home = File.realpath(home)
      gem_dir = File.join(real_home, "gems", "waterdrop-2.10.3.fd.1")

      # 1. The stand-in as installed; Bundler resolves its waterdrop dependency from GEM_HOME.
      installed_app = File.join(app, "installed")
      FileUtils.mkdir_p(installed_app)
      File.write(File.join(installed_app, "Gemfile"), <<~RUBY)
        source "https://rubygems.org"
        gem "karafka_standin"
      RUBY
      app_env = env.merge("BUNDLE_GEMFILE" => File.join(installed_app, "Gemfile"), "BUNDLE_SILENCE_ROOT_WARNING" => "1")
      run!(app_env, *bundle, "install", "--local", chdir: installed_app)
      # `bundle list`, not install's output: newer Bundlers (trixie's) no longer print "Using ...".
      resolved = run!(app_env, *bundle, "list", chdir: installed_app)
      expect(resolved).to include("waterdrop (2.10.3.fd.1)").and include("karafka_standin (0.1.0)")
      expect(File.read(File.join(installed_app, "Gemfile.lock"))).to include("waterdrop (>= 2.8.14, < 3.0.0)")
                                                                   .and include("    waterdrop (2.10.3.fd.1)")
      loaded = run!(app_env, *bundle, "exec", "ruby", "-e", probe, chdir: installed_app)
      expect(loaded).to include("waterdrop spec: waterdrop-2.10.3.fd.1 at #{gem_dir}")
      expect(loaded).to include("Producer from: #{gem_dir}/lib/waterdrop/producer.rb")
      expect(loaded).to match(%r{native extension: #{Regexp.escape(real_home)}/\S*waterdrop-2\.10\.3\.fd\.1\S*/waterdrop_fd/waterdrop_fd\.so})
      expect(loaded).to include("Rdkafka::RdkafkaError defined: \"constant\"")
      expect(loaded).to include("produce_sync: topic=events offset=0")
      puts loaded

      # 2. The README's path form: the stand-in and `gem "waterdrop", path:` this checkout
      # (its compiled extension in lib/, as `rake compile` leaves it).
      path_app = File.join(app, "path")
      FileUtils.mkdir_p(path_app)
      File.write(File.join(path_app, "Gemfile"), <<~RUBY)
        source "https://rubygems.org"
        gem "waterdrop", path: #{root.inspect}
        gem "karafka_standin", path: #{standin.inspect}
      RUBY
      path_env = env.merge("BUNDLE_GEMFILE" => File.join(path_app, "Gemfile"), "BUNDLE_SILENCE_ROOT_WARNING" => "1")
      run!(path_env, *bundle, "install", "--local", chdir: path_app)
      expect(run!(path_env, *bundle, "list", chdir: path_app)).to include("waterdrop (2.10.3.fd.1)")
      expect(File.read(File.join(path_app, "Gemfile.lock"))).to include("remote: #{root}")
      loaded = run!(path_env, *bundle, "exec", "ruby", "-e", probe, chdir: path_app)
      expect(loaded).to include("waterdrop spec: waterdrop-2.10.3.fd.1 at #{root}")
      expect(loaded).to include("native extension: #{root}/lib/waterdrop_fd/waterdrop_fd.so")
      expect(loaded).to include("produce_sync: topic=events offset=0")
      puts loaded
    end
  end
end
