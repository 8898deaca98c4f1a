# frozen_string_literal: true

module Bench
  # Order statistics over a list of repetitions' figures.
  module Stats
    module_function

    def median(values)
      # A repetition that produced no figure (nil) is left out, not averaged in.
      sorted = values.compact.sort
      return nil if sorted.empty?

      mid = sorted.size / 2
      sorted.size.odd? ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0
    end

    def percentile(values, fraction)
      sorted = values.sort
      sorted[((sorted.size - 1) * fraction).round]
    end

    # @return [Hash] :median, :min, :max of the values
    def summary(values)
      { median: median(values), min: values.compact.min, max: values.compact.max }
    end
  end
end
