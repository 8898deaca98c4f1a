# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # One instrumented event, as given to listeners.
    class Event
      # @return [String] event name
      attr_reader :id
      # @return [Hash] payload (with `:time` in ms when the event measured a block)
      attr_reader :payload

      # @param id [String]
      # @param payload [Hash]
      def initialize(id, payload)
        @id = id
        @payload = payload
      end

      # Reads a payload key.
      # @param key [Symbol]
      # @raise [KeyError] when the key is not part of the payload
      def [](key)
        @payload.fetch(key)
      end
    end
  end
end
