# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

namespace :lint do
  desc "cargo clippy on all targets; warnings are errors"
  task :clippy do
    wfd.ensure_cargo_on_path!
    wfd.require_cargo_subcommand!("clippy")
    wfd.timed("cargo clippy") do
      sh "cargo", "clippy", "--release", "-p", wfd::CRATE, "--all-targets", "--", "-D", "warnings",
         chdir: wfd::ROOT
    end
  end

  desc "cargo fmt --check"
  task :fmt do
    wfd.ensure_cargo_on_path!
    wfd.require_cargo_subcommand!("fmt", component: "rustfmt")
    sh "cargo", "fmt", "--all", "--check", chdir: wfd::ROOT
  end
end

desc "Lint the Rust code (rustfmt + clippy)"
task lint: %w[lint:fmt lint:clippy]
