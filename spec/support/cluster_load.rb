# frozen_string_literal: true

# A stream of keyed, numbered messages from several threads into one topic of the real
# cluster, recording what the user learns about each message: acknowledged (a
# `message.acknowledged` event), failed (a `librdkafka.dispatch_error` event with its
# error code), or refused by the produce call itself (an exception). The payload of a
# message is "<key>|<seq>" (seq counts from 1 per key) and is also its label, so every
# outcome can be matched to what was sent and to what is read back.
class ClusterLoad
  # @return [Hash{String => Float}] payload => monotonic time of its acknowledgement
  attr_reader :acked
  # @return [Hash{String => Symbol}] payload => error code of its failed delivery
  attr_reader :failed
  # @return [Hash{String => Exception}] payload => error raised by produce_async
  attr_reader :raised
  # @return [Hash{String => Float}] payload => monotonic time it was handed to produce_async
  attr_reader :sent_at

  # @param producer [WaterDrop::Producer] idempotent producer (acks=all)
  # @param topic [String]
  # @param threads [Integer] producing threads; thread t owns keys "t<t>k0".."t<t>k<n-1>"
  # @param keys_per_thread [Integer]
  # @param pause [Float] seconds each thread sleeps between two messages
  def initialize(producer, topic, threads: 4, keys_per_thread: 4, pause: 0.004)
    @producer = producer
    @topic = topic
    @threads = threads
    @keys_per_thread = keys_per_thread
    @pause = pause
    @lock = Mutex.new
    @acked = {}
    @failed = {}
    @raised = {}
    @sent_at = {}
    @handles = {}
    @duplicate_events = []
    producer.monitor.subscribe("message.acknowledged") { |e| record_ack(e[:label]) }
    producer.monitor.subscribe("error.occurred") do |e|
      record_failure(e[:label], e[:error]) if e[:type] == "librdkafka.dispatch_error"
    end
  end

  # Starts the producing threads.
  # @return [self]
  def start
    @running = true
    @workers = Array.new(@threads) { |t| Thread.new { produce_loop(t) } }
    self
  end

  # Stops producing, then waits (bounded) until every message has its outcome.
  # @param timeout [Numeric] seconds to wait for the outstanding delivery reports
  # @return [self]
  def stop(timeout: 90)
    @running = false
    @workers.each(&:join)
    deadline = now + timeout
    @handles.each_value do |handle|
      left_ms = ((deadline - now) * 1000).to_i
      handle.wait(max_wait_timeout_ms: [left_ms, 1].max, raise_response_error: false)
    rescue StandardError
      nil # still pending: counted by #pending
    end
    self
  end

  # @return [Integer] messages handed to produce_async (including the refused ones)
  def sent = @sent_at.size

  # @return [Array<String>] payloads whose handle never got a report
  def pending = @handles.select { |_, h| h.pending? }.keys

  # @return [Array<String>] payloads with more than one outcome event (must stay empty)
  def duplicate_events = @lock.synchronize { @duplicate_events.dup }

  # @return [Array<String>] payloads sent that have no outcome at all (must stay empty)
  def silent
    @lock.synchronize { @sent_at.keys.reject { |p| @acked.key?(p) || @failed.key?(p) || @raised.key?(p) } }
  end

  # @return [Hash{Symbol => Integer}] error code => number of failed messages
  def failure_codes
    codes = @failed.values.tally
    @raised.each_value { |e| codes[:"raised_#{error_code(e)}"] = codes.fetch(:"raised_#{error_code(e)}", 0) + 1 }
    codes
  end

  private

  def produce_loop(thread)
    keys = Array.new(@keys_per_thread) { |k| "t#{thread}k#{k}" }
    seqs = Hash.new(0)
    i = 0
    while @running
      key = keys[i % keys.size]
      i += 1
      payload = "#{key}|#{seqs[key] += 1}"
      @lock.synchronize { @sent_at[payload] = now }
      begin
        handle = @producer.produce_async(topic: @topic, key: key, payload: payload, label: payload)
        @lock.synchronize { @handles[payload] = handle }
      rescue WaterDrop::Errors::ProduceError => e
        @lock.synchronize { @raised[payload] = e }
      end
      sleep @pause
    end
  end

  def record_ack(label)
    @lock.synchronize do
      @duplicate_events << label if @acked.key?(label) || @failed.key?(label)
      @acked[label] = now
    end
  end

  def record_failure(label, error)
    @lock.synchronize do
      @duplicate_events << label if @acked.key?(label) || @failed.key?(label)
      @failed[label] = error_code(error)
    end
  end

  def error_code(error)
    cause = error.respond_to?(:code) ? error : error.cause
    cause.respond_to?(:code) ? cause.code : error.class.name.to_sym
  end

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end
