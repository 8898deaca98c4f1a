# frozen_string_literal: true

# Instructions per message, counted by valgrind's callgrind: the one figure on this noisy
# 2-CPU VM that does not move between runs. Each case runs twice (10,000 and 60,000
# messages, 100 bytes, one producer, statistics off) and the difference is divided by
# 50,000, so start-up and connection costs cancel out (and the GC's work, which comes in
# steps, is spread over enough messages to be counted fairly). Uses a separate mock cluster
# (bin/mock-kafka), so the broker is not counted.
#
#   ruby bench/instructions.rb        (about 4 minutes)
require "rbconfig"
require "tmpdir"
require_relative "broker"

module Bench
  # Runs one case under callgrind and sums the `totals:` of its per-thread profiles.
  class Instructions
    ROOT = File.expand_path("..", __dir__)
    SMALL = 10_000
    LARGE = 60_000
    CASES = {
      "produce_async + wait each (:fd)" => [:ruby, "async"],
      "produce_many_sync (:fd)" => [:ruby, "many"],
      "raw librdkafka (rawbench, 1 thread)" => [:raw, nil]
    }.freeze

    # The producing script run under callgrind: ARGV = servers, topic, messages, api.
    SCRIPT = <<~RUBY
      $LOAD_PATH.unshift(#{File.join(ROOT, 'lib').inspect})
      require "waterdrop_fd"
      servers, topic, count, api = ARGV
      producer = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": servers, "statistics.interval.ms": 0 } }
      producer.produce_sync(topic: topic, payload: "warm-up")
      message = { topic: topic, payload: "x" * 100 }.freeze
      if api == "many"
        producer.produce_many_sync(Array.new(Integer(count)) { message })
      else
        Array.new(Integer(count)) { producer.produce_async(message) }.each(&:wait)
      end
      producer.close
    RUBY

    def initialize(servers, topic, dir)
      @servers = servers
      @topic = topic
      @dir = dir
      File.write(File.join(dir, "loop.rb"), SCRIPT)
    end

    # @return [Hash{String => Array(Integer, Integer)}] case => [calling thread, all threads] per message
    #   (rawbench's first thread only starts its producer threads: its calling-thread figure means nothing)
    def run
      CASES.to_h do |name, (kind, api)|
        small = profile(kind, api, SMALL)
        large = profile(kind, api, LARGE)
        per = ->(i) { ((large[i] - small[i]) / (LARGE - SMALL).to_f).round }
        [name, [per.(0), per.(1)]]
      end
    end

    private

    # @return [Array(Integer, Integer)] instructions of the first thread, and of all threads
    def profile(kind, api, count)
      prefix = File.join(@dir, "cg.#{kind}.#{api}.#{count}")
      command = kind == :raw ? raw_command(count) : [RbConfig.ruby, File.join(@dir, "loop.rb"), @servers, @topic, count.to_s, api]
      ok = system("valgrind", "--tool=callgrind", "--separate-threads=yes", "--callgrind-out-file=#{prefix}.%p", *command,
                  out: File::NULL, err: "#{prefix}.log")
      raise "callgrind failed for #{kind} #{api}: see #{prefix}.log" unless ok

      totals = Dir["#{prefix}.*-*"].sort.map { |f| File.read(f)[/^totals: (\d+)/, 1].to_i }
      [totals.first, totals.sum]
    end

    def raw_command(count)
      [File.join(ROOT, "target", "release", "rawbench"), "throughput", @servers, @topic, "1", count.to_s, "100",
       "statistics.interval.ms=0"]
    end
  end
end

if $PROGRAM_NAME == __FILE__
  abort "valgrind is needed (bin/setup installs it)" unless system("valgrind --version", out: File::NULL)
  broker = Bench::Broker.new(topic: "instructions", partitions: 1)
  begin
    results = Dir.mktmpdir { |dir| Bench::Instructions.new(broker.servers, "instructions", dir).run }
  ensure
    broker.stop
  end
  puts "| case | instructions/message, calling thread | instructions/message, all threads |"
  puts "|---|---|---|"
  results.each { |name, (main, all)| puts "| #{name} | #{name.start_with?('raw') ? 'n/a' : main} | #{all} |" }
end
