# frozen_string_literal: true

module Bench
  # The "Rubies side by side" blocks of docs/benchmarks.md: one per broker kind (mock cluster,
  # Apache Kafka), each written by bin/bench-rubies from one bin/bench run per Ruby of the
  # matrix. bin/bench rewrites the rest of the page and keeps these blocks as they are.
  module RubiesSection
    START = /^<!-- rubies:(\w+) start -->$/
    module_function

    # @param old_doc [String] the page as it is
    # @param new_doc [String] the page bin/bench made
    # @return [String] new_doc with old_doc's blocks appended
    def keep(old_doc, new_doc)
      blocks = old_doc.scan(/^<!-- rubies:\w+ start -->$.*?^<!-- rubies:\w+ end -->$/m)
      return new_doc if blocks.empty?

      "#{new_doc.rstrip}\n\n#{blocks.join("\n\n")}\n"
    end

    # @param doc [String] the page
    # @param kind [String] "mock" or "kafka"
    # @param block [String] the block's markdown (without markers)
    # @return [String] doc with that block replaced (or added at the end)
    def replace(doc, kind, block)
      marked = "<!-- rubies:#{kind} start -->\n#{block.strip}\n<!-- rubies:#{kind} end -->"
      pattern = /^<!-- rubies:#{kind} start -->$.*?^<!-- rubies:#{kind} end -->$/m
      doc.match?(pattern) ? doc.sub(pattern) { marked } : "#{doc.rstrip}\n\n#{marked}\n"
    end

    # Markdown comparing the runs (one parsed bin/bench --json per Ruby).
    # @param runs [Array<Hash>] parsed JSON, symbolized keys
    # @param kind [String]
    # @param command [String] the bin/bench-rubies command line
    def render(runs, kind, command)
      rubies = runs.map { |r| "Ruby #{r[:ruby]}" }
      lines = ["## Rubies side by side (#{kind == 'kafka' ? 'Apache Kafka' : 'mock cluster'})", "",
               "Written by `#{command}`: one `bin/bench` run per Ruby of the matrix (the host's, and Debian " \
               "chroots made by `bin/ruby-matrix`), one after the other on the same machine and broker; " \
               "ratios are within each run.", ""]
      runs.each do |r|
        lines << "- Ruby #{r[:ruby]}: `#{r[:ruby_description]}`, librdkafka #{r[:librdkafka]}, #{r[:date]}, " \
                 "#{r[:reps]} repetition(s); broker: #{r[:broker]}"
      end
      lines << "- Machine: #{runs.first[:machine]}" << ""
      lines.concat(throughput_table(runs, rubies))
      lines << ""
      lines.concat(gc_table(runs, rubies))
      lines.join("\n")
    end

    def throughput_table(runs, rubies)
      header = ["API", "producers x messages"] + rubies.flat_map { |r| ["#{r} :fd", "#{r} raw 1 thread", "#{r} :fd / raw 1 thread"] } +
               rubies.map { |r| "#{r}: vs 1 producer" }
      rows = cases(runs).map do |api, count, messages|
        cells = runs.flat_map do |run|
          fd, raw1 = %w[fd raw1].map { |col| median(run, api, count, messages, col) }
          [int(fd), int(raw1), ratio(fd, raw1)]
        end
        flat = runs.map do |run|
          ratio(median(run, api, count, messages, "fd"), median(run, api, runs.first[:throughput].map { |t| t[:producers] }.min, messages, "fd"))
        end
        [Report::API_NAMES.fetch(api.to_sym), "#{count} x #{int(messages)}", *cells, *flat]
      end
      table("Throughput (msg/s, median of the repetitions)", header, rows)
    end

    def gc_table(runs, rubies)
      header = ["producers x messages"] + rubies.flat_map { |r| ["#{r} minor / major GCs", "#{r} GC ms (share of wall)", "#{r} allocations/message"] }
      keys = runs.flat_map { |r| r[:gc].map { |g| [g[:producers], g[:messages]] } }.uniq.sort
      rows = keys.map do |count, messages|
        cells = runs.flat_map do |run|
          reps = run[:gc].find { |g| g[:producers] == count && g[:messages] == messages }&.dig(:reps) || []
          next %w[– – –] if reps.empty?

          m = ->(key) { Stats.median(reps.map { |x| x[key] }) }
          share = Stats.median(reps.map { |x| x[:gc_ms] / x[:wall_ms] })
          ["#{m.(:minor).round} / #{m.(:major).round}", "#{m.(:gc_ms).round} (#{(share * 100).round}%)", format("%.2f", m.(:allocs))]
        end
        ["#{count} x #{int(messages)}", *cells]
      end
      table("GC during produce_async + wait all (:fd; GC.stat deltas, median of the repetitions)", header, rows)
    end

    def cases(runs)
      runs.flat_map { |r| r[:throughput].map { |t| [t[:api], t[:producers], t[:messages]] } }.uniq
          .sort_by { |api, count, messages| [api == "async" ? 0 : 1, messages, count] }
    end

    def median(run, api, count, messages, col)
      row = run[:throughput].find { |t| t[:api] == api && t[:producers] == count && t[:messages] == messages }
      row && Stats.median(row[:columns][col.to_sym] || [])
    end

    def ratio(a, b)
      a && b && b.positive? ? format("%.2fx", a / b) : "–"
    end

    def int(n)
      n ? n.round.to_s.reverse.scan(/\d{1,3}/).join(",").reverse : "–"
    end

    def table(title, header, rows)
      ["### #{title}", "", "| #{header.join(' | ')} |", "|#{header.map { '---' }.join('|')}|",
       *rows.map { |r| "| #{r.join(' | ')} |" }]
    end
  end
end
