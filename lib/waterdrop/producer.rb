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
    include Sync
    include Async
    include Buffer
    include Tombstone
    include Transactions
    include Idempotence
    include InstrumentationSetup

    # Process-wide cache of partition counts: topic => [count, fetched_at]
    PARTITION_COUNT_TTL = 30
    PARTITION_COUNTS = {}
    PARTITION_COUNTS_MUTEX = Thread::Mutex.new
    private_constant :PARTITION_COUNTS, :PARTITION_COUNTS_MUTEX

    # Messages one native call hands to librdkafka on the batch fast path: enough to make
    # the call's own cost vanish, few enough that no call holds the GVL for more than ~1 ms.
    FAST_BATCH_CHUNK = 512
    private_constant :FAST_BATCH_CHUNK

    # `error.occurred`'s `dispatched:` for an aborted transactional batch.
    NOTHING_DISPATCHED = [].freeze
    # Interrupts held off while a variant scope is counted in or out, so that a count and
    # its uncount always come in pairs.
    HOLD_INTERRUPTS = { Object => :never }.freeze
    private_constant :NOTHING_DISPATCHED, :HOLD_INTERRUPTS

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
      @fast_native = nil
      # How many variant scopes are open on any thread (see #with_variant). Only a hint that
      # spares the fast path a fiber-local lookup while it is 0: it is raised before a scope
      # is in effect and lowered after, so it is never 0 while this thread has one open; if
      # an interrupt ever leaves it too high, produces only take the lookup.
      @variant_scopes = 0
      @variant_scopes_mutex = Thread::Mutex.new
      @shutting_down_client = false
      @client = nil # set only by test helpers that swap the client (see #client)
      @client_replaced = false
      @status = Status.new { refresh_fast_path }
      @messages = []
      @native = nil
      refresh_fast_path
      @poller = nil
      @connecting_mutex = Thread::Mutex.new
      @operating_mutex = Thread::Mutex.new
      @buffer_mutex = Thread::Mutex.new
      @transaction_mutex ||= Thread::Mutex.new
      @operations_in_progress = OperationsCounter.new
      @epoch = WaterdropFd::Native.fork_generation
      @tags = Tags.new
      class_monitor.instrument("producer.created", producer: self, producer_id: nil)
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
      @max_payload_size = @config.max_payload_size
      @middleware = @config.middleware || Middleware.new
      @default_variant = Variant.new(self, default: true)
      @monitor.on_change do
        refresh_delivery_notifications
        refresh_fast_path
      end
      @middleware.on_change { refresh_fast_path } if @middleware.respond_to?(:on_change)
      subscribe_idle_disconnector
      @status.configured!
      class_monitor.instrument("producer.configured", producer: self, producer_id: @id, config: @config)
      self
    end

    # Waits until every message handed to librdkafka was delivered (or failed).
    # @param timeout_ms [Integer]
    # @return [Boolean] false when the timeout passed first
    # @raise [WaterdropFd::PollerThreadWaitError] from a listener on the poller thread
    def flush(timeout_ms = @max_wait_timeout)
      ensure_not_on_own_poller!("flush")
      client = native_client
      client ? client.flush(timeout_ms) : true
    end

    # @return [Integer] messages in librdkafka's queue (0 when not connected)
    def queue_size
      adopt_process
      client = @native
      client ? client.queue_size : 0
    end
    alias queue_length queue_size

    # Drops every buffered and queued message (their handles fail with a purge error).
    def purge
      adopt_process
      @monitor.instrument("buffer.purged", producer_id: id) do
        @buffer_mutex.synchronize { @messages.clear }
        @native&.purge
      end
    end

    # Closes the producer: delivers what is queued (up to `max_wait_timeout`), stops
    # polling, destroys the librdkafka client. Safe to call twice, from a callback on a
    # poller thread (it then closes in the background: on its own poller's thread the close
    # would wait for itself, on another poller's thread two listeners closing each other's
    # producers would wait for each other) and from a signal trap.
    # @param force [Boolean] purge what is not delivered instead of waiting
    # @return [void]
    def close(force: false)
      adopt_process
      if WaterdropFd::Native.on_a_poller_thread?
        Thread.new { close(force: force) }
        return
      end
      # Closing from inside a transaction would wait for that transaction forever.
      raise Errors::ProducerTransactionalCloseAttemptError, id if @transaction_mutex.owned?

      # A transaction running in another thread finishes (commits or aborts) first.
      flush_error = nil
      @transaction_mutex.synchronize do
        @operating_mutex.synchronize do
          # `closing` here means an earlier close was killed half-way (it released the
          # mutex): finish its work instead of leaving the client and handles behind.
          return unless @status.active? || @status.closing?

          @monitor.instrument("producer.closed", producer_id: id) do
            # The native fast path refuses messages from now on (the final buffer flush
            # below takes the full path, which checks the status).
            @native.stop_accepting if @native && librdkafka_client?(@native)
            @status.closing!
            @monitor.instrument("producer.closing", producer_id: id)
            # New dispatches wait for @operating_mutex (and then see the closed status);
            # the ones already running finish first.
            @operations_in_progress.wait_until_zero
            flush_error = flush_buffer_on_close
            shutdown_client(force)
            @status.closed!
          end
        end
      end
      # The producer is closed either way; an unexpected failure of the last flush is the
      # caller's to see.
      raise flush_error if flush_error
    rescue ThreadError => e
      raise unless e.message.include?("trap context")

      Thread.new { close(force: force) }.join
    end

    # {#close} that purges instead of waiting for deliveries.
    def close!
      close(force: true)
    end

    # Disconnects from Kafka but stays configured: the next produce (or anything else that
    # needs the client) connects again. Delivers what librdkafka still holds first (up to
    # `max_wait_timeout`), stops polling this producer and destroys the librdkafka client.
    #
    # It does nothing (and returns false) unless the producer is connected, its buffer is
    # empty, no dispatch or transaction is running, and it is not called from a listener
    # on the poller thread (which must not wait for itself).
    # @return [Boolean] whether the producer was disconnected
    def disconnect
      return false unless disconnectable?

      @transaction_mutex.synchronize do
        @operating_mutex.synchronize do
          @buffer_mutex.synchronize do
            return false unless disconnect_allowed?

            @status.disconnecting!
          end

          @monitor.instrument("producer.disconnecting", producer_id: id)
          @monitor.instrument("producer.disconnected", producer_id: id) do
            shutdown_client(false)
            @status.disconnected!
          end
          true
        end
      end
    end

    # A best-effort check of {#disconnect}'s conditions (they are checked again, under the
    # producer's locks, when disconnecting).
    # @return [Boolean] whether {#disconnect} would disconnect now
    def disconnectable?
      adopt_process
      return false if @transaction_mutex.locked? || @operating_mutex.locked?

      disconnect_allowed?
    end

    # @return [Tags] named tags describing this producer
    attr_reader :tags

    # @return [Middleware] the steps run on every message before validation
    # @raise [Errors::ProducerNotConfiguredError] before `setup`
    def middleware
      @middleware || ensure_active!
    end

    # A view of this producer with its own `max_wait_timeout` and topic settings, for the
    # current fiber.
    # @param settings [Hash] the variant's settings
    # @option settings [Numeric] :max_wait_timeout ms sync calls wait (default: the config's)
    # @option settings [Hash{Symbol => Object}] :topic_config topic-level librdkafka settings
    # @return [Variant]
    # @raise [Errors::VariantInvalidError]
    # @raise [Errors::ProducerNotConfiguredError, Errors::ProducerClosedError]
    def with(**settings)
      ensure_active!
      Variant.new(self, **settings)
    end
    alias variant with

    # @return [Variant] the variant in effect on the current fiber
    def current_variant
      variants = Thread.current[:waterdrop_fd_variants]
      (variants && variants[object_id]) || @default_variant
    end

    # Partitions of `topic` (from broker metadata, cached for 30 s per process).
    # @param topic [String, Symbol]
    # @return [Integer] -1 when the topic is unknown
    def partition_count(topic)
      topic = topic.to_s
      now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      cached = PARTITION_COUNTS_MUTEX.synchronize { PARTITION_COUNTS[topic] }
      return cached.first if cached && now - cached.last < PARTITION_COUNT_TTL

      count = native_client.partition_count(topic, 5_000)
      PARTITION_COUNTS_MUTEX.synchronize { PARTITION_COUNTS[topic] = [count, now] }
      count
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

    # The client messages go through, connecting on first use: librdkafka's (native) by
    # default, a {Clients::Dummy} when `deliver` is false, or an instance of `client_class`
    # ({Clients::Buffered} keeps what it was given: `producer.client.messages`).
    #
    # Every dispatch and transaction command asks this method for the client, so a test
    # helper may replace it (`allow(producer).to receive(:client).and_return(buffered)`,
    # mocha's `stubs(:client)`, or WaterDrop-style `producer.instance_variable_set(:@client, c)`):
    # messages then go to that client's `#produce(message)`, and the native fast path is off
    # while the replacement is in place.
    # @return [WaterdropFd::Native::Producer, Clients::Dummy]
    def client
      @client || native_client
    end

    # The native client, connecting on first use.
    # @return [WaterdropFd::Native::Producer]
    # @api private
    def native_client
      adopt_process
      @native || connect
    end

    # A summary that never waits for a lock: `buffer_size=busy` when another thread holds
    # the buffer.
    # @return [String] `#<WaterDrop::Producer:0x… id="…" status=connected buffer_size=0
    #   connected=true operations=0>` (plus ` in_transaction=true` inside a transaction)
    def inspect
      parts = ["id=#{@id.inspect}", "status=#{@status}"]
      if @buffer_mutex.try_lock
        begin
          parts << "buffer_size=#{@messages.size}"
        ensure
          @buffer_mutex.unlock
        end
      else
        parts << "buffer_size=busy"
      end
      parts << "connected=#{@status.connected?}"
      parts << "operations=#{@operations_in_progress.value}"
      parts << "in_transaction=true" if @transaction_mutex.locked?
      "#<#{self.class.name}:#{format("%#x", object_id)} #{parts.join(" ")}>"
    end

    private

    # Decides whether `produce_async` may hand messages straight to the native fast path:
    # a connected, non-transactional producer with no middleware step and nobody listening
    # to `message.produced_async`. Called on every change of those (status transitions,
    # listeners, middleware), so the hot path reads one instance variable (and, only while
    # a variant scope is open somewhere, the fiber's variants; see {#outside_variant_scope?}).
    # The message itself is checked natively, and anything unusual goes the full way.
    def refresh_fast_path
      native = @native
      @fast_native =
        if native && @fast_path_allowed && !@client_replaced && @status.connected? && @middleware&.empty? &&
           !@monitor.listening?("message.produced_async")
          native
        end
    end

    # A stub of `client` (rspec-mocks, mocha) is a singleton method: while it is there,
    # dispatches must ask `client`, so the fast path (which holds the native client) is off.
    def singleton_method_added(name)
      super
      client_replacement_changed if name == :client
    end

    def singleton_method_removed(name)
      super
      client_replacement_changed if name == :client
    end

    def singleton_method_undefined(name)
      super
      client_replacement_changed if name == :client
    end

    def client_replacement_changed
      @client_replaced = singleton_class.method_defined?(:client, false) || singleton_class.private_method_defined?(:client, false)
      refresh_fast_path
    end

    def validate_message!(message)
      ensure_active!
      @contract.validate!(message)
    end

    # Runs the block with `variant` in effect on the current fiber.
    def with_variant(variant)
      counted = false
      begin
        Thread.handle_interrupt(HOLD_INTERRUPTS) { counted = count_variant_scope(+1) }
        variants = (Thread.current[:waterdrop_fd_variants] ||= {})
        previous = variants[object_id]
        variants[object_id] = variant
        yield
      ensure
        if previous
          variants[object_id] = previous
        elsif variants
          variants.delete(object_id)
          Thread.current[:waterdrop_fd_variants] = nil if variants.empty?
        end
        Thread.handle_interrupt(HOLD_INTERRUPTS) { count_variant_scope(-1) } if counted
      end
    end

    # @return [true]
    def count_variant_scope(delta)
      @variant_scopes_mutex.synchronize { @variant_scopes += delta }
      true
    end

    # Whether no variant is in effect on the current fiber: the fast path (which knows no
    # variants) may take the message. The fiber-local lookup is skipped while no scope is
    # open on any thread (nearly always).
    def outside_variant_scope?
      @variant_scopes.zero? || Thread.current[:waterdrop_fd_variants].nil?
    end

    # Raises unless the producer may be used. The state is read once, so a concurrent
    # transition cannot make it look invalid. While closing, only the closing thread (which
    # holds @operating_mutex for the final buffer flush) may go on.
    def ensure_active!
      state = @status.to_sym
      return if Status::ACTIVE_STATES.include?(state)
      return if state == :closing && @operating_mutex.owned?

      case state
      when :initial then raise Errors::ProducerNotConfiguredError, id
      when :closing, :closed then raise Errors::ProducerClosedError, id
      else raise Errors::StatusInvalidError, [id, state.to_s].inspect
      end
    end

    # Raises when the current thread is the poller thread serving this producer (a listener
    # is running): `call` would wait for delivery reports that only this thread can serve
    # (DESIGN.md rule 13b).
    # @param call [String] what was called, for the message
    def ensure_not_on_own_poller!(call)
      poller = @poller
      raise WaterdropFd::PollerThreadWaitError.for(call) if poller&.in_poller_thread?
    end

    # {#disconnect}'s conditions, without the lock checks.
    def disconnect_allowed?
      return false unless @status.connected?
      return false unless @native
      return false unless @messages.empty?
      return false unless @operations_in_progress.value.zero?
      # A poller thread would wait for itself (flush and unregister need it), or, for
      # another poller's producer, for a listener of that poller that may be waiting for
      # this one.
      return false if WaterdropFd::Native.on_a_poller_thread?

      true
    end

    # The last flush of the WaterDrop buffer, by the closing thread. Closing goes on whatever
    # happens: produce failures were reported through `error.occurred` already; anything else
    # (a raising middleware step, a transaction error) is returned for `close` to raise once
    # the producer is closed.
    # @return [StandardError, nil]
    def flush_buffer_on_close
      flush_buffer(true)
      nil
    rescue Errors::ProduceError, Errors::MessageInvalidError
      nil
    rescue StandardError => e
      e
    end

    # Counts a dispatch as in progress while it runs. A new dispatch waits while `close` or
    # `disconnect` holds @operating_mutex, then checks the status again.
    # The counter is this process's (see {#adopt_process}); the one incremented is the one
    # decremented.
    #
    # A listener on the poller thread never waits for it while `close`, `disconnect` or a
    # client reload hold it: they wait for that very thread (flush, unregister), so the wait
    # would never end. It fails at once instead. (Another dispatch holds it only for an
    # instant: that one is waited for.)
    def track_operation
      adopt_process
      counter = @operations_in_progress
      if @operating_mutex.owned?
        counter.increment
      elsif @poller&.in_poller_thread?
        until @operating_mutex.try_lock
          if @shutting_down_client || @status.closing? || @status.closed? || @status.disconnecting?
            ensure_active!
            raise WaterdropFd::PollerThreadWaitError.for("a produce while the producer closes or disconnects")
          end
          Thread.pass
        end
        begin
          counter.increment
        ensure
          @operating_mutex.unlock
        end
      else
        @operating_mutex.synchronize { counter.increment }
      end
      counted = true
      ensure_active!
      yield
    ensure
      counter.decrement if counted
    end

    # Everything of this producer that belongs to one process: the librdkafka client, the
    # poller serving it and the count of dispatches in progress. All of it is tied to the
    # process's fork epoch (`WaterdropFd::Native.fork_generation`, advanced natively in every
    # forked child), and this is the one place that resets it when the epoch changed: a
    # forked child drops the parent's client (never polled, never destroyed), its poller and
    # its operations in progress (which the parent's threads, absent here, would never
    # finish), and reconnects on first use. The inherited client's in-flight messages fail at
    # once, each reported as `error.occurred`. Every entry point calls this first.
    # @return [void]
    def adopt_process
      epoch = WaterdropFd::Native.fork_generation
      return if @epoch == epoch

      inherited = @connecting_mutex.synchronize do
        next nil if @epoch == epoch

        client = @native
        @native = nil
        @poller = nil
        @operations_in_progress = OperationsCounter.new
        refresh_fast_path
        @status.configured! if @status.connected?
        @epoch = epoch
        client
      end
      # Outside the lock: the error.occurred listeners run here and may use the producer.
      inherited&.abandon
    end

    def connect
      adopt_process
      @connecting_mutex.synchronize do
        return @native if @native

        ensure_transactional_id_changed_after_fork! if @connected_epoch && @connected_epoch != @epoch
        # While closing, only the closing thread (final buffer flush) may connect.
        raise Errors::ProducerClosedError, id if @status.closed? || (@status.closing? && !@operating_mutex.owned?)
        raise Errors::ProducerNotConfiguredError, id if @status.initial?

        ruby_client = ruby_client_class
        client = ruby_client ? ruby_client.new(self) : build_native_client
        @connected_transactional_id = @config.kafka[:"transactional.id"]
        @connected_pid = Process.pid
        @connected_epoch = @epoch
        @fast_path_allowed = ruby_client.nil? && !transactional?
        install_client(client, registered: ruby_client.nil?)
        init_transactions_on_connect(client)
        @status.connected! unless @status.closing?
        @monitor.instrument("producer.connected", producer_id: id)
        client
      end
    end

    # Makes `client` the producer's client and registers it with the poller (a librdkafka
    # client). An interrupt (Timeout, Thread#raise) is held back until both are done, and a
    # failed registration forgets the client again: a client that no poller serves would
    # never see its delivery reports, and the next use would not connect again.
    # @param client [WaterdropFd::Native::Producer, Object]
    # @param registered [Boolean] whether the client must be registered with the poller
    def install_client(client, registered:)
      done = false
      Thread.handle_interrupt(Object => :never) do
        @native = client
        register_with_poller if registered
        done = true
      end
      # Outside the deferral: a Timeout in a listener works, and threads it starts do not
      # inherit the deferral.
      @monitor.instrument("poller.producer_registered", producer_id: id) if registered
    ensure
      discard_unregistered(client) if registered && !done
    end

    # Tears down a librdkafka client whose registration failed (see {#install_client}).
    def discard_unregistered(client)
      poller.unregister(self) if @native.equal?(client)
    ensure
      @native = nil
      refresh_fast_path
      client.destroy
    end

    # The client class when it is not librdkafka: {Clients::Dummy} when `deliver` is false,
    # else `client_class` unless it is {Clients::Rdkafka}. Such a client needs no poller.
    # @return [Class, nil]
    def ruby_client_class
      klass = @config.deliver ? @config.client_class : Clients::Dummy
      klass == Clients::Rdkafka ? nil : klass
    end

    # @return [WaterdropFd::Native::Producer] a new librdkafka client with its dispatcher
    def build_native_client
      dispatcher = WaterdropFd::Dispatcher.new(self)
      native = WaterdropFd::Native::Producer.new(native_settings, dispatcher, oauthbearer?)
      @dispatcher = dispatcher.bind(native)
      native
    end

    # @return [Boolean] whether `client` is librdkafka's (served by a poller), not a Ruby one
    def librdkafka_client?(client)
      client.is_a?(WaterdropFd::Native::Producer)
    end

    def register_with_poller
      refresh_delivery_notifications
      poller.add(self)
    end

    # A transactional producer must not reconnect in a forked child with its parent's
    # `transactional.id`: initialising it would fence (kill) the parent's producer.
    def ensure_transactional_id_changed_after_fork!
      tx_id = @config.kafka[:"transactional.id"]
      return if tx_id.nil? || tx_id != @connected_transactional_id

      raise Errors::TransactionalProducerForkedError,
            "#{id}: this transactional producer was connected in the parent process (pid #{@connected_pid}) " \
            "with transactional.id #{tx_id.inspect}; reusing it in this forked child would fence the parent. " \
            "Give the child its own id first, e.g. producer.config.kafka[:\"transactional.id\"] = \"#{tx_id}-\#{Process.pid}\", " \
            "or create the producer after fork."
    end

    def shutdown_client(force)
      native = @native
      return unless native

      # Listeners on the poller thread must not wait for the lock held meanwhile (see
      # #track_operation): this waits for that thread.
      @shutting_down_client = true
      begin
        if force
          native.purge
          native.flush(1_000)
        else
          native.flush(@max_wait_timeout)
        end
      rescue WaterdropFd::ClosedProducerError
        # An earlier close was interrupted (Thread#kill) after destroying the client: what
        # is left is unregistering and failing the handles that can no longer complete.
        nil
      end
      poller.unregister(self) if librdkafka_client?(native)
      native.destroy
      @native = nil
      refresh_fast_path
    ensure
      @shutting_down_client = false
    end

    def refresh_delivery_notifications
      native = @native
      return unless native

      native.notify_deliveries = @monitor.listening?("message.acknowledged") || @monitor.listening?("error.occurred")
    end

    # Hands one message to librdkafka (counted as an operation in progress).
    def dispatch(message, label)
      with_idempotent_fatal_reload { track_operation { dispatch_to_client(message, label) } }
    end

    # Hands one message to librdkafka, waiting and retrying when its queue is full.
    def dispatch_to_client(message, label)
      client = self.client
      return client.produce(message) unless librdkafka_client?(client)

      topic = message[:topic]
      topic = topic.to_s unless topic.is_a?(String)
      variant = current_variant
      config_id = variant.default? ? 0 : variant.topic_config_id(client)
      partition = message[:partition]
      if partition.nil? && (partition_key = message[:partition_key])
        partition = partition_from_key(client, topic, config_id, partition_key, variant)
      end
      deadline = nil
      begin
        client.produce(
          topic, message[:payload], message[:key], partition || -1,
          timestamp_ms(message[:timestamp]), flat_headers(message[:headers]), message[:label], config_id
        )
      rescue WaterdropFd::RdkafkaError => e
        raise unless e.code == :queue_full && @config.wait_on_queue_full
        # The queue empties only as delivery reports are served, by the poller thread: from
        # a listener on it, waiting would only stall every producer of the poller.
        raise if @poller&.in_poller_thread?

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

    # @param handles [Array<WaterdropFd::DeliveryHandle>] handles of the first messages,
    #   dispatched already (by the batch fast path); dispatching goes on after them
    def dispatch_many(messages, label, handles = [])
      (handles.size...messages.size).each { |i| handles << dispatch(messages[i], label) }
      handles
    rescue WaterdropFd::Error => e
      raise if configuration_error?(e)

      # Said as a closed producer only when nothing of the batch was handed over: otherwise
      # the handles of what was (ProduceManyError#dispatched) must reach the caller.
      raise_if_closed_under(e) if handles.empty?
      error = Errors::ProduceManyError.new(handles, e.inspect)
      # A transactional batch is aborted as a whole: nothing of it was dispatched (the
      # error keeps the handles, which fail as purged).
      @monitor.instrument(
        "error.occurred",
        producer_id: id, messages: messages, dispatched: transactional? ? NOTHING_DISPATCHED : handles,
        error: error, type: "messages.#{label}"
      )
      raise error, cause: e
    end

    # Validates a batch before anything is sent: natively, when every message can skip the
    # Ruby contract (the conditions of {#refresh_fast_path}, checked for each message first,
    # so that an invalid message anywhere still means nothing is sent), else by the contract.
    # @return [WaterdropFd::Native::Producer, nil] the client to hand the batch over to
    #   natively, or nil for the full path
    def validate_batch!(messages)
      client = @fast_native
      if client && @client.nil? && messages.is_a?(Array) && outside_variant_scope? &&
         client.fast_batch?(messages, @max_payload_size)
        return client
      end

      messages.each { |m| validate_message!(m) }
      nil
    end

    # Dispatches a batch validated by {#validate_batch!}. With a native client, FAST_BATCH_CHUNK
    # messages go per call; whatever the native path did not hand over (a full queue, a fatal
    # error, a client closed or replaced meanwhile) goes the full way, after the handles it did
    # produce.
    def dispatch_batch(client, messages, label)
      return dispatch_many(messages, label) unless client

      handles = []
      begin
        track_operation do
          while handles.size < messages.size
            break if client.produce_batch(messages, handles.size, FAST_BATCH_CHUNK, @max_payload_size, handles).zero?
          end
        end
      rescue WaterdropFd::Error
        nil # the rest goes the full way below, which handles each of these errors
      end
      return handles if handles.size == messages.size

      messages[handles.size..].each { |m| validate_message!(m) }
      dispatch_many(messages, label, handles)
    end

    def partition_from_key(client, topic, config_id, key, variant)
      count = partition_count(topic)
      return -1 if count <= 0

      partitioner = (variant.topic_config[:partitioner] || @config.kafka[:partitioner] || "consistent_random").to_s
      client.partition_for(topic, config_id, partitioner, key, count)
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

    # Errors in the settings (a client librdkafka refuses to build, a variant's invalid topic
    # setting) reach the caller as they are, as in WaterDrop, not as produce errors.
    def configuration_error?(error)
      error.is_a?(WaterdropFd::ConfigError) || error.is_a?(WaterdropFd::ClientCreationError)
    end

    def wrap(klass, error)
      raise klass, error.inspect, cause: error
    rescue klass => e
      e
    end

    # A produce that raced `close` finds the native client closed under it: that is said the
    # way a closed producer is said, {Errors::ProducerClosedError} (the native error is its
    # `#cause`), not as a failed message.
    def raise_if_closed_under(error)
      return unless error.is_a?(WaterdropFd::ClosedProducerError)
      return unless @status.closing? || @status.closed?

      raise Errors::ProducerClosedError, id
    end

    def raise_produce_error(error, message, type)
      raise error if configuration_error?(error)
      raise_if_closed_under(error)

      wrapped = wrap(Errors::ProduceError, error)
      @monitor.instrument("error.occurred", producer_id: id, message: message, error: wrapped, type: type)
      raise wrapped
    end
  end
end
