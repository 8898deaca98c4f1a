# frozen_string_literal: true

require "etc"

module Bench
  # What the run ran on.
  module Machine
    module_function

    def description
      "#{Etc.nprocessors} CPUs (#{cpu_model}), #{ram_gib} GiB RAM, #{RUBY_PLATFORM}"
    end

    def cpu_model
      File.read("/proc/cpuinfo")[/^model name\s*:\s*(.+)$/, 1] || "unknown CPU"
    rescue Errno::ENOENT
      "unknown CPU"
    end

    def ram_gib
      kb = File.read("/proc/meminfo")[/^MemTotal:\s*(\d+)/, 1].to_i
      (kb / 1024.0 / 1024).round(1)
    end

    # @return [Array<Float>] 1, 5 and 15 minute load averages
    def load_average
      File.read("/proc/loadavg").split.first(3).map(&:to_f)
    end
  end
end
