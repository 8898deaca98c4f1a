# frozen_string_literal: true

require "rubygems/package"
require "tmpdir"
require_relative "support"

wfd = WaterdropFdTasks

# The precompiled platform gem: one stripped extension per Ruby minor, so installing it
# needs neither Rust nor a C toolchain. The host's Ruby is built here; the other minors are
# built by bin/ruby-matrix in Debian chroots (trixie: Ruby 3.3), whose extensions it exports.
module WaterdropFdNativeGem
  module_function

  # "3.1.2" -> "3.1"
  def minor_of(version)
    version[/\A\d+\.\d+/]
  end

  # The first minor the gem does not support: ["3.1", "3.3"] -> "3.4".
  def next_minor(minors)
    major, minor = minors.max_by { |m| m.split(".").map(&:to_i) }.split(".").map(&:to_i)
    "#{major}.#{minor + 1}"
  end

  # What Debian unstable's `ruby` package depends on today (e.g. "3.3"), or nil when the
  # package index cannot be read. Used to say whether sid would add a minor.
  def sid_ruby_minor(mirror)
    url = "#{mirror}/dists/sid/main/binary-amd64/Packages.xz"
    index = IO.popen(["sh", "-c", "curl -fsSL --max-time 60 \"$0\" | xz -dc", url], &:read)
    return nil unless $?.success? # rubocop:disable Style/SpecialGlobalVars

    stanza = index.split("\n\n").find { |s| s.start_with?("Package: ruby\n") }
    stanza && stanza[/^Depends:.*?\bruby(\d+\.\d+)\b/, 1]
  end
end

namespace :gem do
  desc "Build pkg/waterdrop_fd-<version>-<arch>-linux.gem with a stripped extension per Ruby minor " \
       "(host + WATERDROP_FD_NATIVE_TARGETS, default trixie; needs root for the chroots)"
  task :native do
    started = wfd.monotonic
    native = WaterdropFdNativeGem
    stage_root = File.join(wfd::ROOT, "pkg", "native")
    so_dir = File.join(stage_root, "so")
    FileUtils.rm_rf(stage_root)
    FileUtils.mkdir_p(so_dir)
    dlext = wfd::DLEXT

    # 1. The host's Ruby: the same release build `rake compile` makes.
    Rake::Task[:compile].invoke
    host_minor = native.minor_of(RUBY_VERSION)
    FileUtils.mkdir_p(File.join(so_dir, host_minor))
    FileUtils.cp(File.join(wfd.target_dir, "release", wfd.cdylib_name),
                 File.join(so_dir, host_minor, "waterdrop_fd.#{dlext}"))

    # 2. The other minors, built in Debian chroots by the Ruby matrix (no specs run here).
    targets = ENV.fetch("WATERDROP_FD_NATIVE_TARGETS", "trixie").split
    mirror = ENV.fetch("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    unless targets.empty?
      sh File.join(wfd::ROOT, "bin", "ruby-matrix"), "--setup-only", "--export-so", so_dir, *targets
    end
    unless targets.include?("sid")
      sid = native.sid_ruby_minor(mirror)
      if sid.nil?
        puts "==> gem:native: could not read Debian unstable's package index; sid not checked"
      elsif Dir.exist?(File.join(so_dir, sid))
        puts "==> gem:native: Debian unstable offers Ruby #{sid}, a minor built already: sid not built"
      else
        puts "==> gem:native: Debian unstable offers Ruby #{sid}, a minor not built yet: building sid"
        sh File.join(wfd::ROOT, "bin", "ruby-matrix"), "--setup-only", "--export-so", so_dir, "sid"
      end
    end

    minors = Dir.children(so_dir).select { |d| d.match?(/\A\d+\.\d+\z/) }
                .sort_by { |m| m.split(".").map(&:to_i) }
    abort "gem:native: no extension was built" if minors.empty?

    # 3. A staging tree: the source gem's Ruby files plus lib/waterdrop_fd/<minor>/*.so, stripped.
    spec = Gem::Specification.load(File.join(wfd::ROOT, "waterdrop_fd.gemspec"))
    stage = File.join(stage_root, "tree")
    ruby_files = spec.files.reject { |f| f.start_with?("ext/") || f.start_with?("Cargo.") }
    ruby_files.each do |file|
      FileUtils.mkdir_p(File.join(stage, File.dirname(file)))
      FileUtils.cp(File.join(wfd::ROOT, file), File.join(stage, file), preserve: true)
    end
    so_files = minors.map do |minor|
      rel = File.join("lib", "waterdrop_fd", minor, "waterdrop_fd.#{dlext}")
      FileUtils.mkdir_p(File.join(stage, File.dirname(rel)))
      sh "strip", "--strip-unneeded", "-o", File.join(stage, rel), File.join(so_dir, minor, "waterdrop_fd.#{dlext}")
      rel
    end

    spec.platform = Gem::Platform.new("#{RbConfig::CONFIG['host_cpu']}-linux")
    spec.extensions = []
    spec.files = (ruby_files + so_files).sort
    spec.required_ruby_version = [">= #{minors.first}", "< #{native.next_minor(minors)}.dev"]
    gem_file = File.join(wfd::ROOT, "pkg", "#{spec.full_name}.gem")
    FileUtils.rm_f(gem_file)
    Dir.chdir(stage) do
      built = Gem::Package.build(spec)
      FileUtils.mv(built, gem_file)
    end

    puts "==> gem:native: #{gem_file} (#{(File.size(gem_file) / 1024.0 / 1024).round(1)} MiB)"
    so_files.each do |rel|
      minor = rel.split("/")[2]
      puts format("      %-40s %6.1f MiB stripped (%.1f MiB before strip)", rel,
                  File.size(File.join(stage, rel)) / 1_048_576.0,
                  File.size(File.join(so_dir, minor, "waterdrop_fd.#{dlext}")) / 1_048_576.0)
    end
    puts format("==> gem:native took %.1fs", wfd.monotonic - started)
  end
end
