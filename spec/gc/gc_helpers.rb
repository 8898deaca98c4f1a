# frozen_string_literal: true

# Shared pieces of the GC / compaction specs (spec/gc/*_spec.rb).
module GcSpecHelpers
  # A label class of our own: its identity and its ivars must survive every move.
  class CustomLabel
    attr_reader :n, :tag

    def initialize(n)
      @n = n
      @tag = "custom-#{n}"
    end

    def ==(other) = other.is_a?(CustomLabel) && other.n == n && other.tag == tag
  end

  StructLabel = Struct.new(:n, :name)

  # A fresh label of one of four kinds, built from `n` alone, so that it can be rebuilt and
  # compared by value later (kind, class and contents).
  def self.label_for(n)
    case n % 4
    when 0 then { n: n, s: "hash-#{n}", list: [n, n.to_s] }
    when 1 then +"string-#{n}"
    when 2 then StructLabel.new(n, "struct-#{n}")
    else CustomLabel.new(n)
    end
  end

  # Keyword for GC.verify_compaction_references: `double_heap:` on 3.1, `expand_heap:` on >= 3.2.
  def self.compaction_keyword
    Gem::Version.new(RUBY_VERSION) >= Gem::Version.new("3.2") ? :expand_heap : :double_heap
  end

  def self.verify_compaction_references!
    GC.verify_compaction_references(compaction_keyword => true, toward: :empty)
  end

  def self.monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Sets the RTT of every mock broker, restoring 0 afterwards.
  def with_slow_brokers(ms, brokers: 1..3)
    brokers.each { |id| mock_cluster.set_rtt(id, ms) }
    yield
  ensure
    brokers.each { |id| mock_cluster.set_rtt(id, 0) }
  end
end

RSpec.configure { |c| c.include GcSpecHelpers, gc: true }
