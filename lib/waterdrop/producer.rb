# frozen_string_literal: true

module WaterDrop
  # A Kafka producer with WaterDrop's API, backed by a librdkafka client in Rust and served
  # by an FD poller thread (`polling.mode = :fd`, the default) or a dedicated poller
  # (`:thread`).
  #
  # @example
  #   producer = WaterDrop::Producer.new do |config|
  #     config.kafka = { "bootstrap.servers": "localhost:9092" }
  #   end
  #   producer.produce_sync(topic: "events", payload: "hello")
  #   producer.close
  class Producer
    # @return [String] the producer's id
    attr_reader :id
    # @return [Status]
    attr_reader :status
    # @return [Array<Hash>] the buffer of messages waiting for `flush_*`
    attr_reader :messages
    # @return [Instrumentation::Monitor]
    attr_reader :monitor
    # @return [Config]
    attr_reader :config

    # @yieldparam config [Config] when given, the producer is set up at once
    def initialize(&block)
      @status = Status.new
      @messages = []
      @native = nil
      @native_pid = nil
      @poller = nil
      @connecting_mutex = Thread::Mutex.new
      @operating_mutex = Thread::Mutex.new
      @buffer_mutex = Thread::Mutex.new
      setup(&block) if block
    end

    # Configures the producer (once).
    # @yieldparam config [Config]
    # @raise [Errors::ProducerAlreadyConfiguredError]
    # @raise [Errors::ConfigurationInvalidError]
    # @return [self]
    def setup(&block)
      raise Errors::ProducerAlreadyConfiguredError, id unless @status.initial?

      @config = Config.new.setup(&block)
      @id = @config.id
      @monitor = @config.monitor
      @contract = Contracts::Message.new(max_payload_size: @config.max_payload_size)
      @max_wait_timeout = @config.max_wait_timeout
      @monitor.on_change { refresh_delivery_notifications }
      @status.configured!
      self
    end

    # Produces a message and waits for its delivery report.
    # @param message [Hash] `topic:`, `payload:` and optional `key:`, `partition:`,
    #   `partition_key:`, `timestamp:`, `headers:`, `label:`
    # @return [WaterdropFd::DeliveryReport]
    # @raise [Errors::MessageInvalidError]
    # @raise [Errors::ProduceError] with the librdkafka error (or wait timeout) as `#cause`
    def produce_sync(message)
      ensure_active!
      @contract.validate!(message)
      @monitor.instrument("message.produced_sync", producer_id: id, message: message) do
        handle = dispatch(message, "produce_sync")
        handle.wait(max_wait_timeout_ms: @max_wait_timeout, raise_response_error: true)
      end
    rescue WaterdropFd::Error => e
      raise_produce_error(e, message, "message.produce_sync")
    end

    # Produces a message without waiting.
    # @param message [Hash] see {#produce_sync}
    # @return [WaterdropFd::DeliveryHandle]
    # @raise [Errors::MessageInvalidError]
    # @raise [Errors::ProduceError]
    def produce_async(message)
      ensure_active!
      @contract.validate!(message)
      if @monitor.listening?("message.produced_async")
        @monitor.instrument("message.produced_async", producer_id: id, message: message) do
          dispatch(message, "produce_async")
        end
      else
        dispatch(message, "produce_async")
      end
    rescue WaterdropFd::Error => e
      raise_produce_error(e, message, "message.produce_async")
    end

    # Produces many messages and waits for all their reports.
    # @param messages [Array<Hash>]
    # @return [Array<WaterdropFd::DeliveryHandle>] completed handles
    # @raise [Errors::MessageInvalidError] (nothing is sent when any message is invalid)
    # @raise [Errors::ProduceManyError] with `#dispatched`
    def produce_many_sync(messages)
      ensure_active!
      messages.each { |m| @contract.validate!(m) }
      @monitor.instrument("messages.produced_sync", producer_id: id, messages: messages) do
        handles = dispatch_many(messages, "produce_many_sync")
        handles.each { |h| h.wait(max_wait_timeout_ms: @max_wait_timeout, raise_response_error: false) }
        handles
      end
    end

    # Produces many messages without waiting.
    # @param messages [Array<Hash>]
    # @return [Array<WaterdropFd::DeliveryHandle>]
    # @raise [Errors::MessageInvalidError]
    # @raise [Errors::ProduceManyError]
    def produce_many_async(messages)
      ensure_active!
      messages.each { |m| @contract.validate!(m) }
      @monitor.instrument("messages.produced_async", producer_id: id, messages: messages) do
        dispatch_many(messages, "produce_many_async")
      end
    end

    # Waits until every message handed to librdkafka was delivered (or failed).
    # @param timeout_ms [Integer]
    # @return [Boolean] false when the timeout passed first
    def flush(timeout_ms = @max_wait_timeout)
      client = native_client
      client ? client.flush(timeout_ms) : true
    end

    # @return [Integer] messages in librdkafka's queue (0 when not connected)
    def queue_size
      client = @native
      client && @native_pid == Process.pid ? client.queue_size : 0
    end
    alias queue_length queue_size

    # Drops every buffered and queued message (their handles fail with a purge error).
    def purge
      @monitor.instrument("buffer.purged", producer_id: id) do
        @buffer_mutex.synchronize { @messages.clear }
        @native&.purge if @native_pid == Process.pid
      end
    end

    # Closes the producer: delivers what is queued (up to `max_wait_timeout`), stops
    # polling, destroys the librdkafka client. Safe to call twice, from a callback on the
    # poller thread (it then closes in the background) and from a signal trap.
    # @param force [Boolean] purge what is not delivered instead of waiting
    # @return [void]
    def close(force: false)
      return close_inherited if @native && @native_pid != Process.pid

      if @native && poller.in_poller_thread?
        Thread.new { close(force: force) }
        return
      end

      @operating_mutex.synchronize do
        return unless @status.active?

        @monitor.instrument("producer.closed", producer_id: id) do
          @status.closing!
          @monitor.instrument("producer.closing", producer_id: id)
          shutdown_client(force)
          @status.closed!
        end
      end
    rescue ThreadError => e
      raise unless e.message.include?("trap context")

      Thread.new { close(force: force) }.join
    end

    # {#close} that purges instead of waiting for deliveries.
    def close!
      close(force: true)
    end

    # @return [Poller, nil] the poller serving this producer
    def poller
      @poller ||=
        if @config.polling.mode == :fd
          @config.polling.poller || Polling::Poller.instance
        else
          Polling::Poller.new
        end
    end

    # @return [Boolean] whether this producer uses FD polling
    def fd_polling?
      @config.polling.mode == :fd
    end

    # The native client, connecting on first use.
    # @return [WaterdropFd::Native::Producer]
    # @api private
    def native_client
      return @native if @native && @native_pid == Process.pid

      connect
    end

    # @return [String]
    def inspect
      "#<#{self.class.name}:#{format("0x%x", object_id)} id=#{id.inspect} status=#{@status} " \
        "buffer_size=#{@messages.size} connected=#{!@native.nil?}>"
    end

    private

    def ensure_active!
      return if @status.active? && (@native.nil? || @native_pid == Process.pid)

      case @status.to_sym
      when :initial then raise Errors::ProducerNotConfiguredError, id
      when :closing, :closed then raise Errors::ProducerClosedError, id
      when :connected, :configured, :disconnected, :disconnecting then nil
      else raise Errors::StatusInvalidError, id
      end
    end

    def connect
      @connecting_mutex.synchronize do
        return @native if @native && @native_pid == Process.pid

        abandon_inherited if @native
        raise Errors::ProducerClosedError, id if @status.closing? || @status.closed?
        raise Errors::ProducerNotConfiguredError, id if @status.initial?

        pairs = @config.kafka.map { |k, v| [k.to_s, v.to_s] }
        native = WaterdropFd::Native::Producer.new(pairs, WaterdropFd::Dispatcher.new(self), false)
        @native = native
        @native_pid = Process.pid
        refresh_delivery_notifications
        @poller = nil unless @native_pid == @poller_pid
        @poller_pid = Process.pid
        poller.register(self)
        @status.connected!
        @monitor.instrument("producer.connected", producer_id: id)
        native
      end
    end

    # The client was made by a parent process: its handles fail at once, the client is
    # left alone (never polled, never destroyed), and the next use reconnects.
    def abandon_inherited
      @native.abandon
      @native = nil
      @poller = nil
      @status.configured! if @status.connected?
    end

    def close_inherited
      abandon_inherited
      close
    end

    def shutdown_client(force)
      native = @native
      return unless native && @native_pid == Process.pid

      if force
        native.purge
        native.flush(1_000)
      else
        native.flush(@max_wait_timeout)
      end
      poller.unregister(self)
      native.destroy
      @native = nil
    end

    def refresh_delivery_notifications
      native = @native
      return unless native

      native.notify_deliveries = @monitor.listening?("message.acknowledged") || @monitor.listening?("error.occurred")
    end

    # Hands one message to librdkafka, waiting and retrying when its queue is full.
    def dispatch(message, label)
      client = native_client
      topic = message[:topic]
      topic = topic.to_s unless topic.is_a?(String)
      deadline = nil
      begin
        client.produce(
          topic, message[:payload], message[:key], message[:partition] || -1,
          timestamp_ms(message[:timestamp]), flat_headers(message[:headers]), message[:label]
        )
      rescue WaterdropFd::RdkafkaError => e
        raise unless e.code == :queue_full && @config.wait_on_queue_full

        now = Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond)
        deadline ||= now + @config.wait_timeout_on_queue_full
        raise if now >= deadline

        if @config.instrument_on_wait_queue_full
          @monitor.instrument(
            "error.occurred",
            producer_id: id, message: message, error: wrap(Errors::ProduceError, e), type: "message.#{label}"
          )
        end
        sleep(@config.wait_backoff_on_queue_full / 1000.0)
        retry
      end
    end

    def dispatch_many(messages, label)
      handles = []
      messages.each { |m| handles << dispatch(m, label) }
      handles
    rescue WaterdropFd::Error => e
      error = Errors::ProduceManyError.new(handles, e.inspect)
      @monitor.instrument(
        "error.occurred",
        producer_id: id, messages: messages, dispatched: handles, error: error, type: "messages.#{label}"
      )
      raise error, cause: e
    end

    def timestamp_ms(timestamp)
      case timestamp
      when nil then 0
      when Integer then timestamp
      else (timestamp.to_r * 1000).to_i
      end
    end

    def flat_headers(headers)
      return nil if headers.nil? || headers.empty?

      flat = []
      headers.each do |name, value|
        if value.is_a?(Array)
          value.each { |v| flat << name << v }
        else
          flat << name << value
        end
      end
      flat
    end

    def wrap(klass, error)
      raise klass, error.inspect, cause: error
    rescue klass => e
      e
    end

    def raise_produce_error(error, message, type)
      wrapped = wrap(Errors::ProduceError, error)
      @monitor.instrument("error.occurred", producer_id: id, message: message, error: wrapped, type: type)
      raise wrapped
    end
  end
end
