# frozen_string_literal: true

require "optparse"

module Bench
  # Parses bin/bench's command line into {Settings}.
  class Options
    SECTIONS = %i[throughput latency idle gvl cluster].freeze
    # Opt-in sections (`--tls`): they need more than one broker listener.
    EXTRA_SECTIONS = %i[tls].freeze
    ROOT = File.expand_path("..", __dir__)

    def self.parse(argv)
      new.parse(argv)
    end

    def initialize
      @s = Settings.new(
        topic: "bench", partitions: 4, kafka: Settings.default_kafka, bytes: 100, reps: 3,
        producers: [1, 2, 5, 10, 25], messages: [1_000, 10_000], only: SECTIONS,
        out: File.join(ROOT, "docs", "benchmarks.md"), latency_messages: 1_000,
        idle_producers: 100, idle_seconds: 5, gvl_producers: 25, gvl_seconds: 3, quick: false,
        rawbench: File.join(ENV.fetch("CARGO_TARGET_DIR", File.join(ROOT, "target")), "release", "rawbench")
      )
    end

    def parse(argv)
      parser.parse!(argv)
      @s.only = @s.only + [:tls] if @tls && !@s.only.include?(:tls)
      @s
    end

    private

    def parser
      OptionParser.new do |o|
        o.banner = "usage: bin/bench [options]  (broker: KAFKA_BOOTSTRAP_SERVERS, else a mock cluster)"
        o.on("--quick", "fewer cases and repetitions (CI smoke)") { quick! }
        o.on("--reps N", Integer, "repetitions per case (default 3)") { |n| @s.reps = n }
        o.on("--messages LIST", Array, "messages per producer (default 1000,10000)") { |l| @s.messages = ints(l) }
        o.on("--producers LIST", Array, "producer counts (default 1,2,5,10,25)") { |l| @s.producers = ints(l) }
        o.on("--only LIST", Array, "sections: #{SECTIONS.join(',')}") { |l| @s.only = sections(l) }
        o.on("--tls", "also measure TLS beside plaintext (needs KAFKA_CLIENT_CONFIG_SSL from bin/kafka)") { @tls = true }
        o.on("--json PATH", "also write the throughput and GC figures as JSON (bin/bench-rubies reads it)") do |p|
          @s.json = File.expand_path(p)
        end
        o.on("--out PATH", "markdown report (default docs/benchmarks.md; the PNG goes beside it)") { |p| @s.out = File.expand_path(p) }
        o.on("--topic NAME", "topic (default bench)") { |t| @s.topic = t }
        o.on("--rawbench PATH", "rawbench binary (default target/release/rawbench)") { |p| @s.rawbench = p }
        o.on("--worker SPEC", "internal: run idle:MODE or gvl:MODE with --settings JSON") { |w| @s.worker = w }
        o.on("--settings JSON", "internal") { |j| @s = Settings.from_json(j).tap { |s| s.worker = @s.worker } }
      end
    end

    def quick!
      @s.quick = true
      @s.reps = 1
      @s.producers = [1, 5, 25]
      @s.messages = [1_000]
      @s.latency_messages = 200
      @s.idle_seconds = 2
      @s.gvl_seconds = 1
    end

    def ints(list)
      list.map { |v| Integer(v.delete("_")) }
    end

    def sections(list)
      list.map(&:to_sym).each do |name|
        raise OptionParser::InvalidArgument, "unknown section #{name}" unless (SECTIONS + EXTRA_SECTIONS).include?(name)
      end
    end
  end
end
