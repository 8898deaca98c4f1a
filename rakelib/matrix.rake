# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

# Not part of `rake ci`: a cold run builds two Debian chroots (see bin/ruby-matrix --help).
desc "Build and run the whole spec suite on the host's Ruby and in Debian trixie/sid chroots " \
     "(bin/ruby-matrix; options in MATRIX_ARGS, e.g. MATRIX_ARGS='sid --no-broker'); needs root"
task :matrix do
  args = Shellwords.split(ENV.fetch("MATRIX_ARGS", ""))
  # The script sets up each Ruby's own bundle; Bundler's variables from this rake must not leak in.
  wfd.unbundled do
    sh(File.join(wfd::ROOT, "bin", "ruby-matrix"), *args, chdir: wfd::ROOT)
  end
end
