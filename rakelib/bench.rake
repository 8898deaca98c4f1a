# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

namespace :bench do
  desc "Build rawbench (raw librdkafka from Rust, the limit bin/bench compares against)"
  task :rawbench do
    wfd.ensure_cargo_on_path!
    sh("cargo", "build", "--release", "--bin", "rawbench", chdir: wfd::ROOT)
  end

  desc "bin/bench on the host's Ruby and in the Ruby matrix's chroots, side by side in docs/benchmarks.md " \
       "(root; bin/bench-rubies options in BENCH_RUBIES_ARGS)"
  task rubies: [:compile, "bench:rawbench"] do
    args = Shellwords.split(ENV.fetch("BENCH_RUBIES_ARGS", ""))
    sh(File.join(wfd::ROOT, "bin", "bench-rubies"), *args, chdir: wfd::ROOT)
  end
end

desc "Benchmarks (bin/bench) into docs/benchmarks.md; options in BENCH_ARGS (e.g. BENCH_ARGS='--quick')"
task bench: [:compile, "bench:rawbench"] do
  args = Shellwords.split(ENV.fetch("BENCH_ARGS", ""))
  sh(Gem.ruby, File.join(wfd::ROOT, "bin", "bench"), *args, chdir: wfd::ROOT)
end
