# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

desc "Validate the RBS signatures in sig/ with the rbs the Ruby in use bundles"
task :rbs do
  # Debian 12's Ruby 3.1.2 bundles rbs 2.1; trixie's 3.3 a newer one. The signatures keep to
  # what rbs 2.1 understands, so every Ruby of the matrix validates all of them.
  rbs_version = Gem.loaded_specs["rbs"]&.version || Gem::Specification.find_by_name("rbs").version
  $stdout.puts "==> rbs #{rbs_version} (Ruby #{RUBY_VERSION})"
  $stdout.flush
  sh(*wfd.gem_exe("rbs"), "-I", "sig", "validate", "--silent", chdir: wfd::ROOT)
end
