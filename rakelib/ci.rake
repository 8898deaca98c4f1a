# frozen_string_literal: true

# Exactly what CI runs (bin/test runs this task), in order.
desc "Everything CI runs: lint, rbs, compile, cargo_test, spec, gem:check"
task ci: %w[lint rbs compile cargo_test spec gem:check]
