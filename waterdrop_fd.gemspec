# frozen_string_literal: true

require_relative "lib/waterdrop_fd/version"

Gem::Specification.new do |spec|
  spec.name = "waterdrop_fd"
  spec.version = WaterdropFd::VERSION
  spec.authors = ["waterdrop_fd authors"]
  spec.license = "MIT"

  spec.summary = "WaterDrop-compatible Kafka producer with a Rust core and a single FD-driven poller thread"
  spec.description = <<~DESC.tr("\n", " ").strip
    waterdrop_fd is a Kafka producer for Ruby that mirrors the WaterDrop producer API.
    Its core is a Rust native extension that embeds librdkafka; delivery reports and
    other librdkafka events are woken through file descriptors and drained by one
    shared poller thread instead of a polling thread per producer.
  DESC

  spec.required_ruby_version = ">= 3.1"

  # Globs (not `git ls-files`) so the gem builds from any checkout or tarball.
  patterns = %w[
    lib/**/*.rb
    sig/**/*.rbs
    exe/*
    ext/waterdrop_fd/Cargo.toml
    ext/waterdrop_fd/build.rs
    ext/waterdrop_fd/extconf.rb
    ext/waterdrop_fd/src/**/*.rs
    Cargo.toml
    Cargo.lock
    README.md
    LICENSE
    docs/*.md
  ]
  spec.files = patterns.flat_map { |pattern| Dir.glob(pattern, base: __dir__) }.uniq.sort

  spec.bindir = "exe"
  spec.executables = ["waterdrop_fd-demo"]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/waterdrop_fd/extconf.rb"]
end
