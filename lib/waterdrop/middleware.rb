# frozen_string_literal: true

module WaterDrop
  # Steps that transform each message before validation. A step is any object with
  # `#call(message) -> message` (a lambda is fine). Steps run in order.
  class Middleware
    def initialize
      @mutex = Thread::Mutex.new
      @steps = [].freeze
    end

    # Adds a step at the end.
    # @param step [#call]
    # @return [Array<#call>] the steps
    def append(step)
      @mutex.synchronize { @steps = [*@steps, step].freeze }
    end

    # Adds a step at the beginning.
    # @param step [#call]
    # @return [Array<#call>] the steps
    def prepend(step)
      @mutex.synchronize { @steps = [step, *@steps].freeze }
    end

    # Runs every step on one message.
    # @param message [Hash]
    # @return [Hash] the message the last step returned
    def run(message)
      steps = @steps
      return message if steps.empty?

      steps.reduce(message) { |msg, step| step.call(msg) }
    end

    # Runs every step on each message.
    # @param messages [Array<Hash>]
    # @return [Array<Hash>]
    def run_many(messages)
      return messages if @steps.empty?

      messages.map { |m| run(m) }
    end
  end
end
