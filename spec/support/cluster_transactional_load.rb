# frozen_string_literal: true

# Transactions in a loop from several threads, one transactional producer per thread: each
# transaction writes `size` keyed, numbered messages ("<key>|<seq>", seq per key across all
# transactions) and is recorded as committed (the block returned) or aborted (it raised,
# with the error code), so a read_committed reader can be checked against it. Every
# `abort_every`-th transaction is aborted on purpose (WaterDrop::AbortTransaction) after its
# messages were written, so there always are aborted records that must stay hidden.
class ClusterTransactionalLoad
  # @return [Array<Array<String>>] payloads of each committed transaction
  attr_reader :committed
  # @return [Array<Array(Array<String>, Symbol)>] payloads and error of each aborted transaction
  attr_reader :aborted

  # @param producers [Array<WaterDrop::Producer>] transactional producers, one per thread
  # @param topic [String]
  # @param size [Integer] messages per transaction
  # @param abort_every [Integer] every n-th transaction of a thread is aborted on purpose
  def initialize(producers, topic, size: 5, keys_per_thread: 3, abort_every: 5)
    @abort_every = abort_every
    @producers = producers
    @topic = topic
    @size = size
    @keys_per_thread = keys_per_thread
    @lock = Mutex.new
    @committed = []
    @aborted = []
  end

  # @return [self]
  def start
    @running = true
    @workers = @producers.each_with_index.map { |producer, t| Thread.new { loop_transactions(producer, t) } }
    self
  end

  # @return [self]
  def stop
    @running = false
    @workers.each(&:join)
    self
  end

  # @return [Integer] committed transactions so far
  def committed_count = @lock.synchronize { @committed.size }

  # @return [Hash{Symbol => Integer}] error code => aborted transactions
  def abort_codes = @lock.synchronize { @aborted.map(&:last).tally }

  private

  def loop_transactions(producer, thread)
    keys = Array.new(@keys_per_thread) { |k| "x#{thread}k#{k}" }
    seqs = Hash.new(0)
    n = 0
    transactions = 0
    while @running
      transactions += 1
      on_purpose = (transactions % @abort_every).zero?
      payloads = Array.new(@size) do
        key = keys[n % keys.size]
        n += 1
        "#{key}|#{seqs[key] += 1}"
      end
      begin
        producer.transaction do
          handles = payloads.map { |p| producer.produce_async(topic: @topic, key: p.split("|").first, payload: p) }
          if on_purpose
            handles.each(&:wait) # written to the log, then aborted
            raise WaterDrop::AbortTransaction
          end
        end
        @lock.synchronize { on_purpose ? @aborted << [payloads, :aborted_on_purpose] : @committed << payloads }
      rescue StandardError => e
        @lock.synchronize { @aborted << [payloads, code_of(e)] }
      end
    end
  end

  def code_of(error)
    cause = error
    cause = cause.cause while !cause.respond_to?(:code) && cause.cause
    cause.respond_to?(:code) ? cause.code : error.class.name.to_sym
  end
end
