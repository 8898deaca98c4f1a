# frozen_string_literal: true

require "time"

module Bench
  # Markdown tables (printed, and written to docs/benchmarks.md).
  class Report
    COLUMNS = %i[fd thread raw raw1].freeze
    LATENCY_COLUMNS = %i[fd thread raw].freeze
    API_NAMES = { async: "produce_async + wait all", many_sync: "produce_many_sync" }.freeze
    GVL_LOADS = { request: "produce_sync loops", flat_out: "flat out: produce_async x 1,000 + wait, repeated" }.freeze

    def initialize(settings, context, sections)
      @s = settings
      @c = context
      @t, @l, @idle, @gvl, @tls, @cluster = sections.values_at(:throughput, :latency, :idle, :gvl, :tls, :cluster)
    end

    def tables
      [throughput_tables, gc_table, call_cost_table, cluster_table, latency_table, idle_table, gvl_table, tls_table,
       targets_table].compact.join("\n")
    end

    def document(chart)
      <<~MD
        # Benchmarks

        Written by `rake bench` (`bin/bench`); do not edit by hand.

        - Date: #{@c[:date]}
        - Command: `#{@c[:command]}` (wall time #{@c[:wall].round} s)
        - Machine: #{Machine.description}; load average at start #{@c[:load].join(' / ')}
        - Broker: #{@c[:broker]}
        - Versions: waterdrop_fd #{WaterdropFd::VERSION}, Ruby #{RUBY_VERSION}, librdkafka #{WaterdropFd::Native.librdkafka_version}
        - Settings: #{@s.bytes}-byte payloads, #{@s.reps} repetition(s) per case (median, spread min–max),
          producer settings (gem and rawbench alike) `#{@s.kafka.map { |k, v| "#{k}=#{v}" }.join(', ')}` over
          WaterDrop's defaults; producers are created and warmed up (one `produce_sync` each) before timing;
          time runs from the start of producing until every delivery handle is complete.
          Columns: `:fd` = `polling.mode = :fd`, `:thread` = `polling.mode = :thread`, raw = librdkafka from
          Rust with no Ruby (`rawbench`, same broker, same run; it has one produce path, shown in both API tables)
          with one thread and one client per producer; raw 1 thread = `rawbench` producing all the case's
          messages from ONE thread, the limit for a Ruby process (which produces under the GVL, on one core at a time).
        #{noise_note}
        #{chart ? "![throughput against producer count](#{File.basename(@c[:png])})\n" : ''}
        #{tables}
      MD
    end

    private

    def noise_note
      return "" unless @c[:load].first > 0.5 || Etc.nprocessors <= 2

      "\n> Noise: this machine has #{Etc.nprocessors} CPUs shared by the Ruby process, librdkafka's threads, " \
        "the broker (mock cluster process or Kafka JVM) and other work (load average #{@c[:load].first} at start); " \
        "figures move between runs, see the min–max spreads.\n"
    end

    def throughput_tables
      return unless @t

      @t.results.keys.map(&:first).uniq.map do |api|
        rows = @t.results.select { |(a, _, _), _| a == api }.map do |(_, count, messages), cols|
          med = COLUMNS.to_h { |col| [col, Stats.median(cols[col])] }
          ["#{count}", fmt_int(messages)] + COLUMNS.map { |col| spread(cols[col]) } +
            [ratio(med[:fd], med[:raw]), ratio(med[:fd], med[:raw1]), ratio(med[:fd], med[:thread])]
        end
        table("Throughput, #{API_NAMES.fetch(api)} (msg/s, median (min–max))",
              ["producers", "messages each", ":fd", ":thread", "raw", "raw 1 thread", ":fd / raw",
               ":fd / raw 1 thread", ":fd / :thread"], rows)
      end.join("\n")
    end

    # What the GC did during each :fd produce_async case (GC.stat deltas, median of the reps).
    def gc_table
      return if @t.nil? || @t.gc.empty?

      rows = @t.gc.map do |(count, messages), reps|
        m = ->(key) { Stats.median(reps.map { |r| r[key] }) }
        share = Stats.median(reps.map { |r| r[:gc_ms] / r[:wall_ms] })
        [count.to_s, fmt_int(messages), m.(:minor).round.to_s, m.(:major).round.to_s, fmt_int(m.(:gc_ms).round),
         "#{(share * 100).round}%", format("%.2f", m.(:allocs))]
      end
      table("GC during produce_async + wait all (:fd; GC.stat deltas, median of the repetitions)",
            ["producers", "messages each", "minor GCs", "major GCs", "GC ms", "GC / wall", "allocations/message"], rows)
    end

    def call_cost_table
      return unless @t

      rows = @t.call_cost.map do |col, values|
        cpu = @t.call_cpu[col]
        [col.to_s, spread(values, 3), cpu.empty? ? "n/a" : spread(cpu, 3)]
      end
      table("produce_async per-call cost at 1 producer (produce loop / #{fmt_int(@s.messages.max)} messages, µs)",
            ["column", "µs/call (wall)", "µs/call (CPU of the producing thread)"], rows)
    end

    # The cluster's :fd figures beside the single broker's :fd figures of the same case (when
    # the run's broker is a real Kafka broker, not the mock cluster).
    def cluster_table
      return unless @cluster

      real_broker = !ENV.fetch("KAFKA_BOOTSTRAP_SERVERS", "").empty?
      rows = @cluster.results.map do |(api, count, messages), cols|
        single = real_broker ? @t&.results&.dig([api, count, messages], :fd) : nil
        single = nil if single&.empty?
        [API_NAMES.fetch(api), count.to_s, fmt_int(messages), spread(cols[:fd]), spread(single),
         ratio(Stats.median(cols[:fd]), single && Stats.median(single))]
      end
      table("Throughput on a 3-node cluster (#{ClusterThroughput.servers}; replication factor 3, " \
            "min.insync.replicas 2, acks=all), :fd (msg/s, median (min–max))",
            ["API", "producers", "messages each", "cluster", "single broker", "cluster / single"], rows)
    end

    def latency_table
      return unless @l

      rows = LATENCY_COLUMNS.map { |col| [col.to_s, spread(@l.results[col][:p50], 1), spread(@l.results[col][:p99], 1)] }
      table("produce_sync latency, 1 producer, #{fmt_int(@s.latency_messages)} sequential calls (µs)",
            %w[column p50 p99], rows)
    end

    def idle_table
      return unless @idle

      rows = @idle.values.map do |r|
        [r[:mode].to_s, r[:ruby_threads_added], r[:os_threads_added], r[:poller_threads],
         format("%.1f", r[:wakeups_per_sec]), format("%.1f", r[:poller_wakeups_per_sec]),
         format("%.1f%%", r[:cpu_percent]), format("%.0f", r[:rss_kb_per_producer])]
      end
      table("Idle cost: #{@s.idle_producers} connected idle producers, #{@s.idle_seconds} s window",
            ["mode", "Ruby threads added", "OS threads added", "poller threads", "wake-ups/s (all threads)",
             "wake-ups/s (poller)", "process CPU", "RSS KiB/producer"], rows)
    end

    def gvl_table
      return unless @gvl

      pct = ->(v) { "#{(v * 100).round}%" }
      rows = @gvl.values.flat_map do |r|
        r[:loads].map do |load, l|
          [r[:mode].to_s, GVL_LOADS.fetch(load.to_sym), fmt_int(l[:solo_per_sec].round), fmt_int(l[:busy_per_sec].round),
           pct.(l[:ratio]), l[:ratios].map(&pct).join(" / "), pct.(l[:cpu_share]), fmt_int(l[:msgs_per_sec].round)]
        end
      end
      table("GVL: CPU-bound Ruby thread (counter loop) with #{@s.gvl_producers} producers producing, " \
            "#{Gvl::PAIRS} x (#{@s.gvl_seconds} s alone, #{@s.gvl_seconds} s with producers)",
            ["mode", "producers' load", "iterations/s alone", "iterations/s with producers", "kept (median pair)",
             "kept, each pair", "CPU share kept", "msg/s meanwhile"], rows) +
        "\nKept = iterations/s with producers / iterations/s in the solo window just before; CPU share kept = " \
        "the counter thread's CPU time per wall second, loaded / alone (its share of the GVL, which does not " \
        "move with this VM's CPU speed).\n" +
        "\nWith produce_sync loops the counter keeps most of its rate because the producers starve: a " \
        "thread woken by its delivery report gets the GVL only when the counter's 100 ms time slice " \
        "ends (MRI's scheduler, both modes alike), hence the low msg/s. The target row uses the flat-out load.\n"
    end

    def targets_table
      rows = Targets.new(@s, throughput: @t, latency: @l, idle: @idle, gvl: @gvl).rows
      return if rows.empty?

      table("Targets", %w[target measured status], rows.map { |t, m, ok| [t, m, ok ? "met" : "**not met**"] })
    end

    def tls_table
      return unless @tls

      rows = @tls.results.map do |(api, count, messages), cols|
        plain, ssl = Stats.median(cols[:plaintext]), Stats.median(cols[:ssl])
        [API_NAMES.fetch(api), count, fmt_int(messages), spread(cols[:plaintext]), spread(cols[:ssl]), ratio(ssl, plain)]
      end
      table("Cost of TLS (msg/s, :fd; #{@tls.description})",
            ["API", "producers", "messages each", "plaintext", "ssl", "ssl / plaintext"], rows)
    end

    def spread(values, digits = 0)
      return "–" if values.nil? || values.empty?

      s = Stats.summary(values)
      f = ->(v) { digits.zero? ? fmt_int(v.round) : format("%.#{digits}f", v) }
      values.size == 1 ? f.(s[:median]) : "#{f.(s[:median])} (#{f.(s[:min])}–#{f.(s[:max])})"
    end

    def ratio(a, b)
      a && b && b.positive? ? format("%.2fx", a / b) : "–"
    end

    def fmt_int(n)
      n.to_s.reverse.scan(/\d{1,3}/).join(",").reverse
    end

    def table(title, header, rows)
      lines = ["### #{title}", "", "| #{header.join(' | ')} |", "|#{header.map { '---' }.join('|')}|"]
      lines.concat(rows.map { |r| "| #{r.join(' | ')} |" })
      "#{lines.join("\n")}\n"
    end
  end
end
