# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # Adds change information to librdkafka's statistics before `statistics.emitted` carries
    # them. Most librdkafka counters are totals since the client started (`tx`, `txerrs`, ...);
    # for a numeric key `KEY` this writes, into the same Hash:
    #
    # - `KEY_d`: how much the value changed since the previous statistics of this producer
    #   (0 the first time the key is seen);
    # - `KEY_fd`: for how many milliseconds the value has not changed (0 when it just changed
    #   or was first seen).
    #
    # One decorator belongs to one producer (it remembers the previous statistics), which is
    # why `config.statistics_decorator` builds a new one for every producer config.
    #
    # With `only_keys`, only those keys are decorated, and only where librdkafka puts them: the
    # root, every broker, every topic, every partition and the consumer group; other Hashes
    # found at the root are walked entirely. Sub-objects of brokers, topics and partitions
    # (window statistics such as `rtt`, the `toppars` map) are not walked, which keeps the work
    # small on large clusters. Without `only_keys` every numeric key at any depth is decorated.
    # `excluded_keys` names keys that are neither decorated nor walked into.
    #
    # The decorated Hash is frozen at its top level and returned.
    #
    # @example
    #   decorator = WaterDrop::Instrumentation::StatisticsDecorator.new(only_keys: %w[tx])
    #   decorator.call({ "tx" => 5 })  # => { "tx" => 5, "tx_d" => 0, "tx_fd" => 0 }
    #   decorator.call({ "tx" => 9 })  # => { "tx" => 9, "tx_d" => 4, "tx_fd" => 0 }
    class StatisticsDecorator
      # The levels of the librdkafka statistics tree that hold per-entity counters.
      ENTITY_COLLECTIONS = %w[brokers topics cgrp].freeze
      NOTHING = {}.freeze
      private_constant :ENTITY_COLLECTIONS, :NOTHING

      # @return [Array<String>, nil] the keys decorated (nil: every numeric key)
      attr_reader :only_keys
      # @return [Array<String>] keys skipped entirely
      attr_reader :excluded_keys

      # @param only_keys [Array<String>] decorate only these keys (empty: all numeric keys)
      # @param excluded_keys [Array<String>] never decorate or walk into these keys; they win
      #   over `only_keys`
      def initialize(only_keys: [], excluded_keys: [])
        @excluded_keys = excluded_keys.map(&:to_s).freeze
        @excluded = @excluded_keys.to_h { |key| [key, true] }.freeze
        selected = only_keys.map(&:to_s).reject { |key| @excluded.key?(key) }
        @only_keys = only_keys.empty? ? nil : selected.freeze
        @suffixes = {}
        @previous = NOTHING
        @previous_at = now_ms
      end

      # Decorates `statistics` in place.
      # @param statistics [Hash] librdkafka statistics, as parsed from JSON
      # @return [Hash] the same Hash, decorated and frozen
      def call(statistics)
        at = now_ms
        elapsed = at - @previous_at
        if @only_keys
          decorate_selected(statistics, @previous, elapsed)
        else
          decorate_everything(statistics, @previous, elapsed)
        end
        @previous = statistics
        @previous_at = at
        statistics.freeze
      end

      private

      # Every numeric key of `node`, then every Hash below it.
      def decorate_everything(node, before, elapsed)
        before = NOTHING unless before.is_a?(Hash)
        node.keys.each do |key|
          next if @excluded.key?(key)

          value = node[key]
          if value.is_a?(Numeric)
            mark_change(node, before, key, value, elapsed)
          elsif value.is_a?(Hash)
            decorate_everything(value, before[key], elapsed)
          end
        end
      end

      # The selected keys at the levels where librdkafka keeps counters.
      def decorate_selected(root, before, elapsed)
        before = NOTHING unless before.is_a?(Hash)
        decorate_keys(root, before, elapsed)
        each_entity(root, before, "brokers") { |broker, was| decorate_keys(broker, was, elapsed) }
        each_entity(root, before, "topics") do |topic, was|
          decorate_keys(topic, was, elapsed)
          each_entity(topic, was, "partitions") { |partition, was_p| decorate_keys(partition, was_p, elapsed) }
        end
        cgrp = root["cgrp"]
        decorate_keys(cgrp, hash_at(before, "cgrp"), elapsed) if cgrp.is_a?(Hash) && !@excluded.key?("cgrp")

        root.each do |key, value|
          next if ENTITY_COLLECTIONS.include?(key) || @excluded.key?(key) || !value.is_a?(Hash)

          decorate_selected_anywhere(value, before[key], elapsed)
        end
      end

      # Selected keys in a Hash that is not part of librdkafka's known layout, at any depth.
      def decorate_selected_anywhere(node, before, elapsed)
        before = NOTHING unless before.is_a?(Hash)
        decorate_keys(node, before, elapsed)
        node.each do |key, value|
          next if @excluded.key?(key) || !value.is_a?(Hash)

          decorate_selected_anywhere(value, before[key], elapsed)
        end
      end

      # Yields each Hash member of `parent[collection]` with its previous version.
      def each_entity(parent, before, collection)
        return if @excluded.key?(collection)

        members = parent[collection]
        return unless members.is_a?(Hash)

        previous_members = hash_at(before, collection)
        members.each do |name, member|
          yield(member, hash_at(previous_members, name)) if member.is_a?(Hash)
        end
      end

      def decorate_keys(node, before, elapsed)
        @only_keys.each do |key|
          value = node[key]
          mark_change(node, before, key, value, elapsed) if value.is_a?(Numeric)
        end
      end

      # Writes KEY_d and KEY_fd for one numeric value. A key whose previous value was not a
      # number (the layout changed) is left alone.
      def mark_change(node, before, key, value, elapsed)
        was = before[key]
        return unless was.nil? || was.is_a?(Numeric)

        delta_key, frozen_key = suffixes(key)
        if was.nil?
          node[delta_key] = 0
          node[frozen_key] = 0
        else
          delta = value - was
          node[delta_key] = delta
          node[frozen_key] = delta.zero? ? (before[frozen_key] || 0) + elapsed : 0
        end
      end

      def suffixes(key)
        @suffixes[key] ||= [-"#{key}_d", -"#{key}_fd"].freeze
      end

      def hash_at(parent, key)
        value = parent[key]
        value.is_a?(Hash) ? value : NOTHING
      end

      def now_ms = Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond)
    end
  end
end
