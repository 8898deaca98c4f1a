# frozen_string_literal: true

module WaterDrop
  # A small settings tree with defaults, nested nodes and `setup { |config| ... }`.
  # `config.polling.fd.max_time = 5` style access, like karafka-core's Configurable.
  class ConfigNode
    class << self
      # Declares a setting. With a block, declares a nested node instead.
      # @param name [Symbol]
      # @param default [Object, Proc] a Proc is called for each new node (fresh objects)
      def setting(name, default: nil, &block)
        settings[name] = block ? Class.new(ConfigNode, &block) : default

        define_method(name) { @values[name] }
        define_method(:"#{name}=") { |value| @values[name] = value } unless block
      end

      # @return [Hash{Symbol => Object}]
      def settings
        @settings ||= {}
      end
    end

    def initialize
      @values = {}
      self.class.settings.each do |name, default|
        @values[name] =
          if default.is_a?(Class) && default <= ConfigNode then default.new
          elsif default.is_a?(Proc) then default.call
          else default
          end
      end
    end

    # @return [Hash] the whole tree as nested Hashes
    def to_h
      @values.transform_values { |v| v.is_a?(ConfigNode) ? v.to_h : v }
    end

    # The settings, for people: librdkafka secrets show as `[FILTERED]` and objects (logger,
    # monitor, listeners, procs) by their class only, so printing a config never prints a
    # password, a private key or a token some listener holds.
    # @return [String]
    def inspect
      parts = @values.map { |name, value| "#{name}=#{inspect_setting(value)}" }
      "#<#{self.class.name || "WaterDrop::ConfigNode"} #{parts.join(" ")}>"
    end

    # Walks every leaf with its dotted path.
    # @yieldparam path [String]
    # @yieldparam value [Object]
    # @api private
    def each_leaf(prefix = nil, &block)
      @values.each do |name, value|
        path = prefix ? "#{prefix}.#{name}" : name.to_s
        value.is_a?(ConfigNode) ? value.each_leaf(path, &block) : yield(path, value)
      end
    end

    private

    def inspect_setting(value)
      case value
      when ConfigNode then value.inspect
      when Hash then WaterdropFd::Redaction.redact(value).inspect
      when Array then "[#{value.map { |item| inspect_setting(item) }.join(", ")}]"
      when String, Symbol, Numeric, true, false, nil then value.inspect
      when Module then value.name || value.inspect
      else "#<#{value.class.name}>"
      end
    end
  end
end
