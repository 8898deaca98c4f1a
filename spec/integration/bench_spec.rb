# frozen_string_literal: true

require "spec_helper"
require "open3"
require "tmpdir"

# `bin/bench` end to end with tiny sizes: every section runs against its own mock cluster
# (and rawbench), and the report has every table, a row per case, the targets and the chart.
# The figures themselves are not checked here: they are timings (docs/benchmarks.md).
RSpec.describe "bin/bench", timeout: 300 do
  root = File.expand_path("../..", __dir__)

  # The rawbench binary where bin/bench looks for it, built first if missing (the Ruby
  # matrix builds only the extension).
  def ensure_rawbench(root)
    path = File.join(ENV.fetch("CARGO_TARGET_DIR", File.join(root, "target")), "release", "rawbench")
    return if File.executable?(path)

    cargo_home = File.join(ENV.fetch("CARGO_HOME", File.join(Dir.home, ".cargo")), "bin")
    env = { "PATH" => [cargo_home, ENV.fetch("PATH", "")].join(File::PATH_SEPARATOR) }
    out, status = Open3.capture2e(env, "cargo", "build", "--release", "--bin", "rawbench", chdir: root)
    raise "building rawbench failed:\n#{out}" unless status.success?
  end

  it "writes a report with every section, a row per case, the targets and a PNG chart" do
    ensure_rawbench(root)
    Dir.mktmpdir do |dir|
      out = File.join(dir, "bench.md")
      stdout, stderr, status = Open3.capture3(
        RbConfig.ruby, File.join(root, "bin", "bench"), "--quick", "--producers", "1,2", "--messages", "200",
        "--out", out, chdir: root
      )
      expect(status).to be_success, "bin/bench failed:\n#{stderr}"
      expect(stderr).to include("throughput 1/", "wrote #{out}")

      report = File.read(out)
      expect(stdout).to include("### Targets")
      headings = report.scan(/^### (.+)$/).flatten.map { |h| h[/\A[^(,:]+/].strip }
      # The cluster section runs only when a cluster is given (CI starts one: bin/kafka-cluster).
      cluster = ENV.fetch("KAFKA_CLUSTER_BOOTSTRAP_SERVERS", "") != ""
      expect(headings).to eq(["Throughput", "Throughput", "GC during produce_async + wait all",
                              "produce_async per-call cost at 1 producer",
                              *(cluster ? ["Throughput on a 3-node cluster"] : []),
                              "produce_sync latency", "Idle cost", "GVL", "Targets"])
      if cluster
        table = report[/### Throughput on a 3-node cluster.*?\n\n(.*?)\n\n/m, 1]
        rows = table.lines.drop(2).map { |l| l.split("|").map(&:strip).reject(&:empty?) }
        expect(rows.map { |r| r.first(3) }).to eq([["produce_async + wait all", "1", "200"],
                                                   ["produce_many_sync", "1", "200"],
                                                   ["produce_async + wait all", "25", "200"],
                                                   ["produce_many_sync", "25", "200"]])
        expect(rows.map { |r| r[3] }).to all(match(/\A[\d,]+/))
      end
      %w[produce_async produce_many_sync].each do |api|
        table = report[/### Throughput, #{api} .*?\n\n(.*?)\n\n/m, 1]
        rows = table.lines.drop(2).map { |l| l.split("|").map(&:strip).reject(&:empty?) }
        expect(rows.map { |r| r.first(2) }).to eq([%w[1 200], %w[2 200]])
        # :fd, :thread, raw, raw 1 thread, then the three ratios.
        expect(rows.map { |r| r[2..5] }.flatten).to all(match(/\A[\d,]+/))
        expect(rows.map { |r| r[6..8] }.flatten).to all(match(/\A\d+\.\d\dx\z/))
      end
      gc = report[/### GC during produce_async .*?\n\n(.*?)\n\n/m, 1]
      gc_rows = gc.lines.drop(2).map { |l| l.split("|").map(&:strip).reject(&:empty?) }
      expect(gc_rows.map { |r| r.first(2) }).to eq([%w[1 200], %w[2 200]])
      # Each produce_async + wait allocates its handle and its report (the loop's threads
      # and arrays add a little at 200 messages).
      expect(gc_rows.map { |r| r.last.to_f }).to all(be_between(2.0, 2.2))
      expect(report).to include("| fd | produce_sync loops |", "| thread | flat out:")
      expect(report.scan(/^\| .+ \| (met|\*\*not met\*\*) \|$/).size).to eq(12)
      expect(File.binread(File.join(dir, "bench.png"), 8)).to eq("\x89PNG\r\n\x1A\n".b)
    end
  end
end
