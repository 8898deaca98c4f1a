# frozen_string_literal: true

module WaterDrop
  module Polling
    # An FD poller: one Ruby thread (`waterdrop.poller#<id>`) that serves the event queues
    # of every producer registered with it. It sleeps in `poll(2)` with the GVL released and
    # serves a producer only when librdkafka signals its pipe (or on the periodic timeout).
    #
    # `Poller.instance` is the process-wide poller (id 0) that `:fd` producers use by
    # default; `Poller.new` makes a dedicated one (ids 1, 2, ...), for example to keep slow
    # listeners of some producers from delaying others. The thread starts on the first
    # `register` and stops when the last producer leaves. When the thread ends in any other
    # way (`Thread#kill`, an exception that is not a StandardError), a new one takes over at
    # once, unless the process is exiting. Whether a thread owns the loop is decided natively
    # (see the state machine at the top of `ext/waterdrop_fd/src/poller.rs`); this class
    # only starts the threads it is told to.
    class Poller
      ID_MUTEX = Thread::Mutex.new
      private_constant :ID_MUTEX

      class << self
        # Set once the process runs its `at_exit` handlers: a poller thread ended then is not
        # replaced (Ruby is killing every thread).
        # @api private
        attr_accessor :exiting

        # @return [Poller] the shared poller (id 0)
        def instance
          @instance ||= ID_MUTEX.synchronize { @instance || new(0) }
        end

        # @api private
        def next_id
          ID_MUTEX.synchronize do
            @id_counter = (@id_counter || 0) + 1
          end
        end
      end

      # @return [Integer] the poller's id
      attr_reader :id

      # @param id [Integer] (internal) the singleton passes 0
      def initialize(id = nil)
        @id = id || self.class.next_id
        @native = WaterdropFd::Native::Poller.new(@id)
        @mutex = Thread::Mutex.new
        @producers = {}
        @thread = nil
        @epoch = WaterdropFd::Native.fork_generation
      end

      # Starts serving a producer. Called by the producer when it connects.
      # @param producer [WaterDrop::Producer]
      # @api private
      def register(producer)
        add(producer)
        producer.monitor.instrument("poller.producer_registered", producer_id: producer.id)
      end

      # {#register} without the `poller.producer_registered` event (the producer instruments
      # it itself, once its client is installed).
      # @param producer [WaterDrop::Producer]
      # @api private
      def add(producer)
        ensure_same_process!
        fd = producer.config.polling.fd
        client = producer.native_client
        # Deferred: an interrupt between the native register (which hands this thread the
        # loop's token) and the thread's start would leave the loop owned by no thread.
        Thread.handle_interrupt(Object => :never) do
          token = @native.register(client, fd.max_time, fd.periodic_poll_interval)
          @mutex.synchronize do
            @producers[producer.id] = producer
            start_thread(token) if token
          end
        end
      end

      # Stops serving a producer, after serving what is left in its queue. Blocks until the
      # poller let go of it, unless called from the poller thread itself.
      # @param producer [WaterDrop::Producer]
      # @api private
      def unregister(producer)
        ensure_same_process!
        client = producer.native_client
        return false unless client

        removed = @native.unregister(client)
        @mutex.synchronize { @producers.delete(producer.id) }
        producer.monitor.instrument("poller.producer_unregistered", producer_id: producer.id) if removed
        removed
      end

      # @return [Boolean] whether the poller thread is running
      def alive?
        ensure_same_process!
        !@thread.nil? && @thread.alive?
      end

      # @return [Integer] number of registered producers
      def count
        ensure_same_process!
        @native.count
      end

      # @return [Boolean] whether the caller runs on this poller's thread (inside a callback)
      def in_poller_thread?
        @native.in_poller_thread?
      end

      # Stops the thread and forgets every producer (test helper, as in WaterDrop).
      # @return [void]
      def shutdown!
        @native.shutdown
        thread = @thread
        if thread && thread != Thread.current
          thread.join(5) || thread.kill
        end
        @native.clear
        @mutex.synchronize do
          @producers.clear
          @thread = nil
        end
      end

      # @return [String]
      def inspect
        "#<#{self.class.name} id=#{@id} producers=#{count} alive=#{alive?}>"
      end

      private

      # Starts the thread that owns the loop under `token` (given by the native poller).
      # When no thread could be started, the token is given back: the loop is idle again,
      # so `unregister` retires producers itself and the next `register` starts a thread.
      # It is always called with interrupts deferred, and the thread inherits that: an
      # interrupt sent to it before its `ensure` is in place waits until {#polling_loop}
      # lets it in.
      def start_thread(token)
        thread = Thread.new { polling_loop(token) }
      rescue Exception # rubocop:disable Lint/RescueException
        @native.thread_ended(token, false)
        raise
      else
        @thread = thread
        thread.name = "waterdrop.poller##{@id}"
        thread.priority = Config.config.thread_priority
        thread.report_on_exception = false
      end

      # Runs the native loop; StandardErrors that escape it (e.g. `Thread#raise` into the
      # poller) are reported to every registered producer and retried with a growing
      # back-off. However the thread ends, the native poller decides whether a new thread
      # takes over (it does when producers are left and nobody asked it to stop).
      def polling_loop(token)
        backoff = nil
        # Interrupts (Thread#kill, Thread#raise) reach the loop, and only inside this block.
        Thread.handle_interrupt(Object => :immediate) do
          @native.run(token, Config.config.poll_timeout)
        rescue StandardError => e
          broadcast_error(e)
          settings = Config.config
          backoff = backoff ? [backoff * 2, settings.backoff_max].min : settings.backoff_min
          sleep(backoff / 1000.0)
          retry
        end
      ensure
        # Deferred: a second Thread#kill here would leave the loop to a thread never started.
        Thread.handle_interrupt(Object => :never) do
          successor = @native.thread_ended(token, !self.class.exiting)
          @mutex.synchronize { start_thread(successor) } if successor
        end
      end

      def broadcast_error(error)
        producers = @mutex.synchronize { @producers.values }
        producers.each do |producer|
          producer.monitor.instrument(
            "error.occurred", producer_id: producer.id, error: error, type: "poller.polling_loop"
          )
        rescue StandardError
          nil
        end
      end

      # The thread and the registry belong to one process (fork epoch, see
      # `WaterdropFd::Native.fork_generation`); a forked child starts without them. The native
      # poller resets its own half the same way.
      def ensure_same_process!
        epoch = WaterdropFd::Native.fork_generation
        return if @epoch == epoch

        @mutex = Thread::Mutex.new
        @producers = {}
        @thread = nil
        @epoch = epoch
      end
    end
  end
end

at_exit { WaterDrop::Polling::Poller.exiting = true }
