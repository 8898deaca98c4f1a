# frozen_string_literal: true

module Bench
  # Reads this process's figures from /proc (Linux).
  module ProcStats
    module_function

    # @return [Hash{String => Integer}] "tid name" => voluntary context switches
    def voluntary_switches
      Dir.glob("/proc/self/task/*/status").each_with_object({}) do |path, out|
        fields = read_fields(path)
        next unless fields

        out["#{File.basename(File.dirname(path))} #{fields['Name']}"] = Integer(fields.fetch("voluntary_ctxt_switches"))
      end
    end

    def os_threads
      Dir.glob("/proc/self/task/*").size
    end

    def rss_kb
      Integer(read_fields("/proc/self/status").fetch("VmRSS")[/\d+/])
    end

    def read_fields(path)
      File.read(path).lines.filter_map do |line|
        pair = line.chomp.split(":", 2).map(&:strip)
        pair if pair.size == 2
      end.to_h
    rescue Errno::ENOENT, Errno::ESRCH
      nil
    end
  end
end
