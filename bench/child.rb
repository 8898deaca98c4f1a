# frozen_string_literal: true

require "json"
require "open3"

module Bench
  # Runs one measurement (idle:MODE, gvl:MODE) in a fresh `bin/bench --worker` process.
  class Child
    BIN = File.expand_path("../bin/bench", __dir__)

    def self.run(settings, spec)
      out, err, status = Open3.capture3(RbConfig.ruby, BIN, "--worker", spec, "--settings", settings.to_h.to_json)
      raise "bin/bench --worker #{spec} failed: #{err}" unless status.success?

      JSON.parse(out.lines.last, symbolize_names: true)
    end
  end
end
