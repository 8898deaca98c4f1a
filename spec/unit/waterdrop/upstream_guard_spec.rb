# frozen_string_literal: true

require "bundler"
require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"

# `require "waterdrop"` is this gem; the upstream waterdrop gem's files must not mix with it,
# in either order. Each case runs in a fresh Ruby (the guard is process-wide).
RSpec.describe "require \"waterdrop\" and the upstream waterdrop gem" do
  lib = File.expand_path("../../../lib", __dir__)

  # A stand-in for the upstream gem as installed: <gems>/waterdrop-2.10.3/lib/waterdrop.rb
  # and lib/waterdrop/*.rb.
  def fake_upstream(gems_dir)
    dir = File.join(gems_dir, "waterdrop-2.10.3")
    FileUtils.mkdir_p(File.join(dir, "lib", "waterdrop", "instrumentation"))
    File.write(File.join(dir, "lib", "waterdrop.rb"), "require 'waterdrop/version'\n")
    File.write(File.join(dir, "lib", "waterdrop", "version.rb"), "module WaterDrop\n  VERSION = '2.10.3'\nend\n")
    File.write(File.join(dir, "lib", "waterdrop", "instrumentation", "extra.rb"),
               "module WaterDrop\n  module Instrumentation\n    EXTRA = 1\n  end\nend\n")
    File.join(dir, "lib")
  end

  # Outside the bundle: bundler/setup would put this gem's lib before `-I`.
  def ruby(*args)
    out, status = Bundler.with_unbundled_env { Open3.capture2e(RbConfig.ruby, *args) }
    [out, status.success?]
  end

  it "loads this gem" do
    out, ok = ruby("-I", lib, "-e", 'require "waterdrop"; print WaterdropFd::VERSION, " ", WaterDrop::Producer.name')
    expect([out, ok]).to eq(["#{WaterdropFd::VERSION} WaterDrop::Producer", true])
  end

  it "refuses an upstream waterdrop file required after it" do
    Dir.mktmpdir do |dir|
      upstream = fake_upstream(dir)
      file = File.join(upstream, "waterdrop", "instrumentation", "extra.rb")
      out, ok = ruby("-I", lib, "-e", <<~RUBY)
        require "waterdrop"
        begin
          load #{file.inspect}
        rescue LoadError => e
          puts e.class, e.message
        end
        puts defined?(WaterDrop::Instrumentation::EXTRA).inspect
      RUBY
      expect(ok).to be(true)
      lines = out.lines(chomp: true)
      expect(lines[0]).to eq("LoadError")
      expect(lines[1]).to start_with(
        "#{file} belongs to the upstream waterdrop gem, but waterdrop_fd is already loaded (from #{lib})"
      )
      expect(lines[1]).to include("Remove the other waterdrop gem from the bundle")
      expect(lines[2]).to eq("nil") # its body never ran
    end
  end

  it "lets an application's own lib/waterdrop/ files reopen WaterDrop" do
    Dir.mktmpdir do |dir|
      app_file = File.join(dir, "my_app", "lib", "waterdrop", "my_listener.rb")
      FileUtils.mkdir_p(File.dirname(app_file))
      File.write(app_file, "module WaterDrop\n  module MyListener\n    READY = true\n  end\nend\n")
      out, ok = ruby("-I", lib, "-e", "require 'waterdrop'; load #{app_file.inspect}; print WaterDrop::MyListener::READY")
      expect([out, ok]).to eq(["true", true])
    end
  end

  it "refuses to load when the upstream waterdrop gem was required first" do
    Dir.mktmpdir do |dir|
      upstream = fake_upstream(dir)
      out, ok = ruby("-I", upstream, "-e", <<~RUBY)
        require "waterdrop"
        begin
          require #{File.join(lib, "waterdrop_fd").inspect}
        rescue LoadError => e
          puts e.class, e.message
        end
      RUBY
      expect(ok).to be(true)
      expect(out.lines(chomp: true)).to eq(
        [
          "LoadError",
          "waterdrop_fd cannot be loaded: the upstream waterdrop gem is already loaded (WaterDrop defined in " \
          "#{File.join(upstream, "waterdrop", "version.rb")}). waterdrop_fd provides the same WaterDrop::Producer " \
          "API and replaces it; remove the other `waterdrop` from your Gemfile (or do not require it) to use waterdrop_fd."
        ]
      )
    end
  end
end
