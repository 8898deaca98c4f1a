# frozen_string_literal: true

require "open3"

module Bench
  # Runs rawbench (librdkafka from Rust, no Ruby) and parses its `key=value` line.
  class Raw
    def initialize(binary, servers, topic, kafka)
      @binary = binary
      @servers = servers
      @topic = topic
      @settings = kafka.map { |k, v| "#{k}=#{v}" }
    end

    def throughput(producers, messages, bytes)
      run("throughput", @servers, @topic, producers, messages, bytes)
    end

    def latency(messages, bytes)
      run("latency", @servers, @topic, messages, bytes)
    end

    private

    def run(*args)
      out, err, status = Open3.capture3(@binary, *args.map(&:to_s), *@settings)
      raise "rawbench #{args.first} failed: #{err}" unless status.success?

      line = out.lines.grep(/mode=raw/).last or raise "rawbench printed no result: #{out}"
      line.split.to_h { |pair| pair.split("=", 2) }.transform_values { |v| Float(v, exception: false) || v }
    end
  end
end
