# frozen_string_literal: true

module WaterDrop
  module Clients
    # A {Dummy} client that keeps every message it was given, for tests:
    # `producer.client.messages`, `producer.client.messages_for("topic")`,
    # `producer.client.reset`. Inside a transaction messages are held back until it commits
    # and dropped when it aborts, as a `read_committed` reader would see them.
    class Buffered < Dummy
      # @param producer [WaterDrop::Producer]
      def initialize(producer)
        super
        @mutex = Mutex.new
        @messages = []
        @pending = nil
      end

      # @return [Array<Hash>] the messages delivered so far (a copy), oldest first
      def messages
        @mutex.synchronize { @messages.dup }
      end

      # @param topic [String, Symbol]
      # @return [Array<Hash>] the messages delivered to `topic`, oldest first
      def messages_for(topic)
        name = topic.to_s
        @mutex.synchronize { @messages.select { |m| m[:topic].to_s == name } }
      end

      # Forgets every message (delivered or held in an open transaction).
      # @return [void]
      def reset
        @mutex.synchronize do
          @messages.clear
          @pending&.clear
        end
      end

      # Keeps the message (held back inside a transaction) and "delivers" it.
      # @param message [Hash]
      # @return [Dummy::Handle]
      def produce(message)
        @mutex.synchronize { (@pending || @messages) << message }
        super
      end

      # Tracks transactions: held messages become visible on commit, vanish on abort.
      # @param command [String]
      # @param _timeout_ms [Integer]
      # @return [nil]
      def transaction(command, _timeout_ms)
        @mutex.synchronize do
          case command
          when "begin" then @pending = []
          when "commit"
            @messages.concat(@pending) if @pending
            @pending = nil
          when "abort" then @pending = nil
          end
        end
        nil
      end
    end
  end
end
