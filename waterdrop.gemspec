# frozen_string_literal: true

# The same gem as waterdrop_fd.gemspec, under the name `waterdrop`, so that a Gemfile can
# satisfy gems that depend on `waterdrop` (Karafka: `waterdrop >= 2.8.14, < 3.0`) with this
# tree:
#
#   gem "waterdrop", git: "https://…/waterdrop_fd.git"   # or path: "…"
#
# The name belongs to the upstream project on rubygems.org: this gemspec is never
# published, only used from a pinned path/git source or a locally built .gem.
# Version: `<WaterDrop API version>.fd.<n>`, e.g. 2.10.3.fd.1 (a RubyGems prerelease: it
# sorts after 2.10.3's prereleases and before 2.10.3 itself, so it satisfies `>= 2.8.14, < 3.0`).

require_relative "lib/waterdrop/version"
require_relative "lib/waterdrop_fd/version"

# `dup`: Gem::Specification.load caches the spec it returns, the waterdrop_fd one stays intact.
Gem::Specification.load(File.join(__dir__, "waterdrop_fd.gemspec")).dup.tap do |spec|
  spec.name = "waterdrop"
  spec.version = "#{WaterDrop::VERSION}.fd.#{WaterdropFd::WATERDROP_GEM_RELEASE}"
  spec.summary = "waterdrop_fd under the name waterdrop: #{spec.summary}"
  spec.metadata = spec.metadata.merge("waterdrop_fd_version" => WaterdropFd::VERSION)
  # The demo executable belongs to waterdrop_fd: both gems in one GEM_HOME must not claim it.
  spec.executables = []
  spec.files = spec.files.reject { |f| f.start_with?("exe/") }
end
