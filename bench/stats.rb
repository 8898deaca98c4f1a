# frozen_string_literal: true

module Bench
  # Order statistics over a list of repetitions' figures.
  module Stats
    module_function

    def median(values)
      sorted = values.sort
      mid = sorted.size / 2
      sorted.size.odd? ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0
    end

    def percentile(values, fraction)
      sorted = values.sort
      sorted[((sorted.size - 1) * fraction).round]
    end

    # @return [Hash] :median, :min, :max of the values
    def summary(values)
      { median: median(values), min: values.min, max: values.max }
    end
  end
end
