# frozen_string_literal: true

require "fileutils"
require "shellwords"

module Bench
  # Runs the selected sections against one broker, prints the tables, writes the report.
  class Runner
    def initialize(settings, argv)
      @s = settings
      @command = ["bin/bench", *argv].shelljoin
      @progress = Progress.new
    end

    def run
      abort "rawbench not found at #{@s.rawbench}: cargo build --release --bin rawbench" unless File.executable?(@s.rawbench)
      load = Machine.load_average
      started = Clock.now
      broker = Broker.new(topic: @s.topic, partitions: @s.partitions)
      @s.servers = broker.servers
      @progress.note("broker: #{broker.description}")
      sections = measure
      context = { date: Time.now.utc.iso8601, command: @command, broker: broker.description, load: load,
                  wall: Clock.now - started, png: @s.out.sub(/\.md\z/, "") + ".png" }
      publish(sections, context)
    ensure
      broker&.stop
    end

    private

    def measure
      raw = Raw.new(@s.rawbench, @s.servers, @s.topic, @s.kafka)
      sections = {}
      sections[:throughput] = Throughput.new(@s, raw, @progress).run if @s.section?(:throughput)
      sections[:latency] = Latency.new(@s, raw, @progress).run if @s.section?(:latency)
      if @s.section?(:tls)
        reason = Tls.unavailable_reason
        abort "bin/bench --tls: #{reason}" if reason
        sections[:tls] = Tls.new(@s, @progress).run
      end
      if @s.section?(:cluster) && ClusterThroughput.servers
        sections[:cluster] = ClusterThroughput.new(@s, @progress).run
      end
      %i[idle gvl].each do |name|
        next unless @s.section?(name)

        @progress.section(name.to_s, 2)
        sections[name] = %i[fd thread].to_h do |mode|
          @progress.step("#{mode} (child process)")
          [mode, Child.run(@s, "#{name}:#{mode}")]
        end
      end
      sections
    end

    # The figures bin/bench-rubies puts side by side, with what they were measured on.
    def write_json(throughput, context)
      data = {
        ruby: RUBY_VERSION, ruby_description: RUBY_DESCRIPTION, librdkafka: WaterdropFd::Native.librdkafka_version,
        date: context[:date], broker: context[:broker], command: context[:command],
        machine: Machine.description, reps: @s.reps,
        throughput: throughput ? throughput.results.map { |(api, count, messages), cols| { api: api, producers: count, messages: messages, columns: cols } } : [],
        gc: throughput ? throughput.gc.map { |(count, messages), reps| { producers: count, messages: messages, reps: reps } } : []
      }
      FileUtils.mkdir_p(File.dirname(@s.json))
      File.write(@s.json, JSON.pretty_generate(data))
    end

    def publish(sections, context)
      report = Report.new(@s, context, sections)
      puts report.tables
      FileUtils.mkdir_p(File.dirname(@s.out))
      chart = sections[:throughput] && Chart.new(sections[:throughput], @s).write(context[:png])
      File.write(@s.out, RubiesSection.keep(File.exist?(@s.out) ? File.read(@s.out) : "", report.document(chart)))
      write_json(sections[:throughput], context) if @s.json
      @progress.note("wrote #{@s.out}#{chart ? " and #{context[:png]}" : ''}; wall time #{context[:wall].round} s")
    end
  end
end
