# frozen_string_literal: true

module WaterDrop
  # A pool of producers built on the `connection_pool` gem (an optional dependency: add
  # `gem "connection_pool"` to the Gemfile, or Debian's `ruby-connection-pool`), with
  # WaterDrop 2.10's API: a pool object, or one process-wide pool behind the class methods
  # (and `WaterDrop.with` / `WaterDrop.transaction` / `WaterDrop.pool`).
  #
  # Lifecycle events go to the class-level monitor ({WaterDrop.monitor}):
  # `connection_pool.created` and `connection_pool.setup` (`pool:`, `size:`, `timeout:`),
  # `connection_pool.shutdown` and `connection_pool.reloaded` (`pool:`), and
  # `connection_pool.reload` (`pool:`, from {.reload}).
  #
  # Unlike WaterDrop, which force-closes (purges) the producers on shutdown, producers are
  # closed gracefully: what they hold is delivered first (up to each `max_wait_timeout`).
  #
  # @example A pool of transactional producers, one transactional.id each
  #   pool = WaterDrop::ConnectionPool.new(size: 3, timeout: 2_000) do |config, index|
  #     config.kafka = { "bootstrap.servers": "localhost:9092", "transactional.id": "app-#{index}" }
  #   end
  #   pool.transaction { |producer| producer.produce_async(topic: "events", payload: "1") }
  #   pool.close
  class ConnectionPool
    # What {.with}, {.transaction} and {WaterDrop.with} raise before {.setup}.
    NOT_SET_UP = "No global WaterDrop::ConnectionPool is set up: call WaterDrop::ConnectionPool.setup first"

    # What is raised when the `connection_pool` gem cannot be loaded.
    GEM_MISSING = "WaterDrop::ConnectionPool needs the connection_pool gem, which is not installed or not in " \
                  "the bundle: add `gem \"connection_pool\"` to your Gemfile (Debian: apt-get install " \
                  "ruby-connection-pool) and run bundle install"

    # Guards the process-wide pool.
    DEFAULT_POOL_MUTEX = Thread::Mutex.new
    private_constant :DEFAULT_POOL_MUTEX

    class << self
      # @return [ConnectionPool, nil] the process-wide pool ({.setup})
      attr_accessor :default_pool

      # Builds the process-wide pool (replacing the reference to any earlier one, which the
      # caller still owns) and instruments `connection_pool.setup`.
      # @param size [Integer] producers in the pool
      # @param timeout [Numeric] ms to wait for a free producer
      # @yieldparam config [Config] each producer's configuration
      # @yieldparam index [Integer] (when the block takes it) the producer's number, from 1
      # @return [ConnectionPool]
      # @raise [LoadError] when the connection_pool gem is missing
      def setup(size: 5, timeout: 5000, &producer_config)
        pool = new(size: size, timeout: timeout, &producer_config)
        DEFAULT_POOL_MUTEX.synchronize { @default_pool = pool }
        WaterDrop.monitor.instrument("connection_pool.setup", pool: pool, size: size, timeout: timeout)
        pool
      end

      # Runs the block with a producer of the process-wide pool.
      # @yieldparam producer [Producer]
      # @return [Object] the block's result
      # @raise [RuntimeError] before {.setup}
      def with(...)
        current!.with(...)
      end

      # Runs the block inside a transaction of a producer of the process-wide pool.
      # @yieldparam producer [Producer]
      # @return [Object] the block's result
      # @raise [RuntimeError] before {.setup}
      def transaction(...)
        current!.transaction(...)
      end

      # @return [Hash{Symbol => Integer}, nil] `size:` and `available:` of the process-wide
      #   pool, nil when there is none
      def stats
        @default_pool&.stats
      end

      # Shuts the process-wide pool down (closing its producers) and forgets it. Does
      # nothing when there is none (Karafka calls it on every server stop).
      # @return [void]
      def shutdown
        pool = DEFAULT_POOL_MUTEX.synchronize do
          current = @default_pool
          @default_pool = nil
          current
        end
        pool&.shutdown
        nil
      end
      alias close shutdown

      # Closes the process-wide pool's producers; new ones are built on demand. Does nothing
      # when there is none.
      # @return [void]
      def reload
        pool = @default_pool
        return unless pool

        pool.reload
        WaterDrop.monitor.instrument("connection_pool.reload", pool: pool)
        nil
      end

      # @return [Boolean] whether a process-wide pool is set up
      def active?
        !@default_pool.nil?
      end

      # Loads the connection_pool gem.
      # @return [void]
      # @raise [LoadError] naming the gem when it cannot be loaded
      # @api private
      def require_gem!
        return if defined?(::ConnectionPool::TimedStack)

        require "connection_pool"
      rescue LoadError => e
        raise LoadError, "#{GEM_MISSING} (#{e.message})"
      end

      private

      def current!
        @default_pool || raise(NOT_SET_UP)
      end
    end

    # @return [::ConnectionPool] the connection_pool gem's pool underneath
    attr_reader :pool

    # @param size [Integer] producers in the pool (built on first checkout)
    # @param timeout [Numeric] ms to wait for a free producer
    # @yieldparam config [Config] each producer's configuration
    # @yieldparam index [Integer] (when the block takes it) the producer's number, from 1
    # @raise [LoadError] when the connection_pool gem is missing
    # @raise [ArgumentError] without a block
    def initialize(size: 5, timeout: 5000, &producer_config)
      raise ArgumentError, "WaterDrop::ConnectionPool.new needs a block that configures the producers" unless producer_config

      self.class.require_gem!
      @producer_config = producer_config
      @pass_index = producer_config.lambda? ? producer_config.arity == 2 : producer_config.parameters.size >= 2
      @built = 0
      @built_mutex = Thread::Mutex.new
      @pool = ::ConnectionPool.new(size: size, timeout: timeout / 1000.0) { build_producer }
      WaterDrop.monitor.instrument("connection_pool.created", pool: self, size: size, timeout: timeout)
    end

    # Runs the block with a producer checked out of the pool (the same one when nested in
    # the same thread).
    # @yieldparam producer [Producer]
    # @return [Object] the block's result
    # @raise [::ConnectionPool::TimeoutError] when no producer is free within `timeout`
    def with(&block)
      @pool.with(&block)
    end

    # @return [Integer] the pool's size
    def size = @pool.size

    # @return [Integer] producers that can be checked out now (free or not built yet)
    def available = @pool.available

    # @return [Hash{Symbol => Integer}] `size:` and `available:`
    def stats
      { size: size, available: available }
    end

    # Runs the block inside a transaction of a checked-out producer.
    # @yieldparam producer [Producer]
    # @return [Object] the block's result
    def transaction
      with { |producer| producer.transaction { yield(producer) } }
    end

    # Closes every producer (delivering what each holds) and refuses later checkouts;
    # instruments `connection_pool.shutdown`.
    # @return [void]
    def shutdown
      @pool.shutdown { |producer| close_producer(producer) }
      WaterDrop.monitor.instrument("connection_pool.shutdown", pool: self)
      nil
    end
    alias close shutdown

    # Closes every idle producer; the next checkouts build new ones. Instruments
    # `connection_pool.reloaded`.
    # @return [void]
    def reload
      @pool.reload { |producer| close_producer(producer) }
      WaterDrop.monitor.instrument("connection_pool.reloaded", pool: self)
      nil
    end

    private

    def build_producer
      index = @built_mutex.synchronize { @built += 1 }
      Producer.new do |config|
        @pass_index ? @producer_config.call(config, index) : @producer_config.call(config)
      end
    end

    def close_producer(producer)
      producer.close if producer.status.active?
    end
  end

  class << self
    # {ConnectionPool.with} on the process-wide pool.
    # @yieldparam producer [Producer]
    # @return [Object] the block's result
    def with(...) = ConnectionPool.with(...)

    # {ConnectionPool.transaction} on the process-wide pool.
    # @yieldparam producer [Producer]
    # @return [Object] the block's result
    def transaction(...) = ConnectionPool.transaction(...)

    # @return [ConnectionPool, nil] the process-wide pool
    def pool = ConnectionPool.default_pool
  end
end
