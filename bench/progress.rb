# frozen_string_literal: true

module Bench
  # Progress lines on stderr: which case, and how far through the section.
  class Progress
    def initialize(io = $stderr)
      @io = io
      @started = Clock.now
    end

    def section(name, total)
      @section = name
      @total = total
      @done = 0
    end

    def step(label)
      @done += 1
      @io.puts format("[%<t>6.1fs] %<s>s %<d>d/%<n>d: %<l>s",
                      t: Clock.now - @started, s: @section, d: @done, n: @total, l: label)
    end

    def note(text)
      @io.puts format("[%<t>6.1fs] %<x>s", t: Clock.now - @started, x: text)
    end
  end
end
