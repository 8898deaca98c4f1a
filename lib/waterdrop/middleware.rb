# frozen_string_literal: true

module WaterDrop
  # Steps that transform each message before validation. A step is any object with
  # `#call(message) -> message` (a lambda is fine). Steps run in order.
  class Middleware
    def initialize
      @mutex = Thread::Mutex.new
      @steps = [].freeze
      @change_hooks = []
    end

    # Adds a step at the end.
    # @param step [#call]
    # @return [Array<#call>] the steps
    def append(step)
      steps = @mutex.synchronize { @steps = [*@steps, step].freeze }
      @change_hooks.each(&:call)
      steps
    end

    # Adds a step at the beginning.
    # @param step [#call]
    # @return [Array<#call>] the steps
    def prepend(step)
      steps = @mutex.synchronize { @steps = [step, *@steps].freeze }
      @change_hooks.each(&:call)
      steps
    end

    # Calls `hook` after every change of the steps.
    # @api private
    def on_change(&hook)
      @mutex.synchronize { @change_hooks = [*@change_hooks, hook] }
    end

    # @return [Boolean] whether there is no step (the produce fast path needs none)
    def empty? = @steps.empty?

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
