# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

desc "Run bin/bench; pass its arguments in BENCH_ARGS (e.g. BENCH_ARGS='--help')"
task bench: :compile do
  args = Shellwords.split(ENV.fetch("BENCH_ARGS", ""))
  sh(Gem.ruby, File.join(wfd::ROOT, "bin", "bench"), *args, chdir: wfd::ROOT)
end
