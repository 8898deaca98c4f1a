# frozen_string_literal: true

require "open3"
require "rbconfig"
require "tmpdir"

# How `require "waterdrop_fd"` finds its extension: the precompiled platform gem's
# lib/waterdrop_fd/<minor>/ build for this Ruby first, else a source build, else a LoadError
# that names the Rubies the gem was built for. Each case runs in a fresh Ruby whose load path
# holds only a staged copy of lib/ (nothing from the checkout or the bundle).
RSpec.describe "WaterdropFd::NativeLoader" do
  lib = File.expand_path("../../../lib", __dir__)
  built = File.join(lib, "waterdrop_fd", "waterdrop_fd.#{RbConfig::CONFIG['DLEXT']}")
  minor = RUBY_VERSION[/\A\d+\.\d+/]

  # Stages lib/ into DIR without the source build, then runs a fresh Ruby on it.
  def run_staged(dir, lib, script)
    FileUtils.cp_r(lib, dir)
    staged = File.join(dir, "lib")
    FileUtils.rm_f(Dir.glob(File.join(staged, "waterdrop_fd", "*.so")))
    FileUtils.rm_rf(Dir.glob(File.join(staged, "waterdrop_fd", "[0-9]*")))
    yield staged if block_given?
    env = { "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_GEMFILE" => nil, "GEM_PATH" => nil }
    Open3.capture3(env, RbConfig.ruby, "--disable-gems", "-I", staged, "-e", script, chdir: dir)
  end

  it "loads the build for the running Ruby minor from lib/waterdrop_fd/<minor>/" do
    Dir.mktmpdir do |dir|
      out, err, status = run_staged(dir, lib, <<~RUBY) do |staged|
        require "waterdrop_fd"
        puts $LOADED_FEATURES.grep(/waterdrop_fd\\.so\\z/)
        puts WaterdropFd::Native.librdkafka_version
      RUBY
        FileUtils.mkdir_p(File.join(staged, "waterdrop_fd", minor))
        FileUtils.cp(built, File.join(staged, "waterdrop_fd", minor, File.basename(built)))
      end
      expect(status).to be_success, err
      features, version = out.lines.map(&:chomp)
      expect(features).to eq(File.join(File.realpath(dir), "lib", "waterdrop_fd", minor, File.basename(built)))
      expect(version).to match(/\A\d+\.\d+\.\d+/)
    end
  end

  it "raises a LoadError naming the Rubies it was built for when none matches" do
    Dir.mktmpdir do |dir|
      _out, err, status = run_staged(dir, lib, <<~RUBY) do |staged|
        begin
          require "waterdrop_fd"
        rescue LoadError => e
          warn "\#{e.class}: \#{e.message}"
          exit 3
        end
      RUBY
        %w[2.9 9.8].each do |other|
          FileUtils.mkdir_p(File.join(staged, "waterdrop_fd", other))
          File.write(File.join(staged, "waterdrop_fd", other, File.basename(built)), "not an ELF file")
        end
      end
      expect(status.exitstatus).to eq(3)
      expect(err).to start_with(
        "LoadError: waterdrop_fd #{WaterdropFd::VERSION} was precompiled for Ruby 2.9, 9.8 " \
        "(#{RbConfig::CONFIG['arch']}), not for Ruby #{RUBY_VERSION}. Install the source gem"
      )
      expect(err).to include("gem install waterdrop_fd --platform ruby")
    end
  end

  it "keeps the plain LoadError of a source install that has no extension" do
    Dir.mktmpdir do |dir|
      _out, err, status = run_staged(dir, lib, <<~RUBY)
        begin
          require "waterdrop_fd"
        rescue LoadError => e
          warn "\#{e.class}: \#{e.message}"
          exit 3
        end
      RUBY
      expect(status.exitstatus).to eq(3)
      expect(err).to start_with("LoadError: cannot load such file -- waterdrop_fd/waterdrop_fd")
    end
  end
end
