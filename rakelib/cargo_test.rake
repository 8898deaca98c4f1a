# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

# Release profile, so the bundled librdkafka build is shared with `rake compile`.
desc "Run the Rust tests (cargo test --release)"
task :cargo_test do
  wfd.ensure_cargo_on_path!
  wfd.timed("cargo test") do
    sh "cargo", "test", "--release", "-p", wfd::CRATE, chdir: wfd::ROOT
  end
end
