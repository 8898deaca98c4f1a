# frozen_string_literal: true

require "open3"

# Reading messages back from the shared mock cluster with kcat, the way a user would check
# what a producer wrote.
module KcatHelpers
  # Consumes every message of `topic` (from the beginning to the end) and returns one line
  # per message, formatted with kcat's `-f` format (without the trailing newline).
  # @param topic [String]
  # @param format [String] kcat format, e.g. "%h" (headers) or "%k|%s"
  # @param partition [Integer, nil] only this partition
  # @param null_as_text [Boolean] print NULL keys and payloads as "NULL" (`-Z`)
  # @return [Array<String>]
  def kcat_read(topic, format, partition: nil, null_as_text: false)
    args = ["kcat", "-b", mock_cluster.bootstrap_servers, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]
    args.push("-p", partition.to_s) if partition
    args.push("-Z") if null_as_text
    args.push("-f", "#{format}\n")
    out, err, status = Open3.capture3(*args)
    raise "kcat failed (#{status.exitstatus}): #{err}" unless status.success?

    out.lines.map(&:chomp)
  end
end

RSpec.configure { |config| config.include KcatHelpers }
