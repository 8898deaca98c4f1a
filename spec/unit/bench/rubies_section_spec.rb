# frozen_string_literal: true

require "spec_helper"
require_relative "../../../bench/stats"
require_relative "../../../bench/report"
require_relative "../../../bench/rubies_section"

# The per-Ruby blocks of the benchmark pages: bin/bench-rubies writes them, bin/bench keeps them.
RSpec.describe Bench::RubiesSection do
  def run(ruby, fd1, fd25, raw1)
    {
      ruby: ruby, ruby_description: "ruby #{ruby}", librdkafka: "2.12.1", date: "2026-12-01", reps: 1,
      broker: "mock", machine: "2 CPUs",
      throughput: [
        { api: "async", producers: 1, messages: 10_000, columns: { fd: [fd1], raw1: [raw1] } },
        { api: "async", producers: 25, messages: 10_000, columns: { fd: [fd25], raw1: [raw1 * 2] } }
      ],
      gc: [{ producers: 25, messages: 10_000, reps: [{ minor: 4, major: 1, gc_ms: 50.0, wall_ms: 500.0, allocs: 2.0 }] }]
    }
  end

  let(:block) { described_class.render([run("3.1.2", 400_000.0, 360_000.0, 800_000.0), run("3.3.8", 300_000.0, 330_000.0, 700_000.0)], "mock", "bin/bench-rubies") }

  it "puts each Ruby's figures, ratios and GC work side by side" do
    expect(block).to include("## Rubies side by side (mock cluster)", "Ruby 3.1.2 :fd", "Ruby 3.3.8 :fd / raw 1 thread")
    row = block.lines.find { |l| l.start_with?("| produce_async + wait all | 25 x 10,000 |") }
    expect(row.split("|").map(&:strip).reject(&:empty?))
      .to eq(["produce_async + wait all", "25 x 10,000", "360,000", "1,600,000", "0.22x", "330,000", "1,400,000", "0.24x", "0.90x", "1.10x"])
    expect(block).to include("| 25 x 10,000 | 4 / 1 | 50 (10%) | 2.00 | 4 / 1 | 50 (10%) | 2.00 |")
  end

  it "replaces its own block, adds a missing one, and survives a rewrite of the page by bin/bench" do
    page = described_class.replace("# Benchmarks\n\nold tables\n", "mock", block)
    page = described_class.replace(page, "kafka", "kafka figures")
    page = described_class.replace(page, "mock", "new mock figures")
    expect(page.scan("<!-- rubies:mock start -->").size).to eq(1)
    expect(page).to include("new mock figures", "kafka figures")
    expect(page).not_to include("Ruby 3.1.2 :fd")

    rewritten = described_class.keep(page, "# Benchmarks\n\nnew tables\n")
    expect(rewritten).to start_with("# Benchmarks\n\nnew tables\n")
    expect(rewritten).to include("new mock figures", "kafka figures")
    expect(described_class.keep("# no blocks\n", "# fresh\n")).to eq("# fresh\n")
  end
end
