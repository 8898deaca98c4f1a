# frozen_string_literal: true

module WaterDrop
  # Named tags attached to a producer (`producer.tags`), for listeners and dashboards that
  # want to know what a producer is for. Each tag has a name, so it can be replaced or
  # removed later; values are kept as Strings. Thread-safe.
  #
  # @example
  #   producer.tags.add(:role, "payments")
  #   producer.tags.add(:region, :eu)
  #   producer.tags.to_a # => ["payments", "eu"]
  class Tags
    # Creates an empty set of tags.
    def initialize
      @mutex = Thread::Mutex.new
      @values = {}
      @list = nil
    end

    # Sets (or replaces) the tag called `name`.
    # @param name [Symbol, String] the tag's name
    # @param value [#to_s] the tag (stored as `value.to_s`)
    # @return [String] the stored value
    def add(name, value)
      text = value.to_s
      @mutex.synchronize do
        @values[name] = text
        @list = nil
      end
      text
    end

    # Removes the tag called `name`.
    # @param name [Symbol, String]
    # @return [String, nil] the removed value, nil when there was none
    def delete(name)
      @mutex.synchronize do
        @list = nil
        @values.delete(name)
      end
    end

    # Removes every tag.
    # @return [void]
    def clear
      @mutex.synchronize do
        @values.clear
        @list = nil
      end
      nil
    end

    # @return [Array<String>] the distinct tag values, in the order they were first added
    def to_a
      @mutex.synchronize { @list ||= @values.values.uniq.freeze }.dup
    end

    # @return [Array<String>] same as {#to_a} (what JSON serialisers ask for)
    def as_json(*)
      to_a
    end

    # @return [String] the tag values as a JSON array
    def to_json(*args)
      to_a.to_json(*args)
    end
  end
end
