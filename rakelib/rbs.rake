# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

desc "Validate the RBS signatures in sig/"
task :rbs do
  sh(*wfd.gem_exe("rbs"), "-I", "sig", "validate", "--silent", chdir: wfd::ROOT)
end
