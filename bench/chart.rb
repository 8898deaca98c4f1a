# frozen_string_literal: true

require "open3"
require "tempfile"

module Bench
  # docs/benchmarks.png: median msg/s against producer count, one line per column and API,
  # at the largest message count (gnuplot).
  class Chart
    SERIES = [[:async, :fd], [:async, :thread], [:many_sync, :fd], [:many_sync, :thread], [:async, :raw]].freeze

    def initialize(throughput, settings)
      @t = throughput
      @s = settings
    end

    # @return [Boolean] whether the PNG was written
    def write(path)
      Tempfile.create(["bench", ".dat"]) do |data|
        data.write(rows)
        data.flush
        _out, err, status = Open3.capture3("gnuplot", stdin_data: script(data.path, path))
        warn "gnuplot failed: #{err}" unless status.success?
        status.success?
      end
    rescue Errno::ENOENT
      warn "gnuplot not found: no chart written"
      false
    end

    private

    def messages
      @s.messages.max
    end

    def rows
      @s.producers.map do |count|
        values = SERIES.map { |api, col| Stats.median(@t.results[[api, count, messages]][col]).round }
        ([count] + values).join(" ")
      end.join("\n") << "\n"
    end

    def script(data, png)
      titles = ["fd produce_async", "thread produce_async", "fd produce_many_sync",
                "thread produce_many_sync", "raw librdkafka"]
      plots = titles.each_with_index.map do |title, i|
        "'#{data}' using 1:#{i + 2} with linespoints lw 2 title '#{title}'"
      end
      <<~GNUPLOT
        set terminal pngcairo size 900,540 noenhanced
        set output '#{png}'
        set title 'Throughput, #{messages} messages of #{@s.bytes} B per producer (median of #{@s.reps})'
        set xlabel 'producers (one Ruby thread each)'
        set ylabel 'messages / s (aggregate)'
        set logscale x
        set xrange [#{@s.producers.min * 0.9}:#{@s.producers.max * 1.1}]
        set xtics (#{@s.producers.join(', ')})
        set yrange [0:*]
        set key outside right
        set grid
        plot #{plots.join(', ')}
      GNUPLOT
    end
  end
end
