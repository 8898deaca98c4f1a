# frozen_string_literal: true

require "fiddle"

# A second librdkafka in the process, driven through Fiddle, the way karafka-rdkafka's
# shared library sits beside this gem under Karafka. Specs use Debian's `librdkafka1`
# (installed with kcat). Only the calls the specs need, from librdkafka's public C API.
class FiddleLibrdkafka
  # Debian's build (librdkafka1, pulled in by kcat).
  DEBIAN_PATH = "/usr/lib/x86_64-linux-gnu/librdkafka.so.1"

  T = Fiddle
  SIGNATURES = {
    rd_kafka_version_str: [[], T::TYPE_VOIDP],
    rd_kafka_conf_new: [[], T::TYPE_VOIDP],
    rd_kafka_conf_set: [[T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_SIZE_T], T::TYPE_INT],
    rd_kafka_new: [[T::TYPE_INT, T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_SIZE_T], T::TYPE_VOIDP],
    rd_kafka_destroy: [[T::TYPE_VOIDP], T::TYPE_VOID],
    rd_kafka_topic_new: [[T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_VOIDP], T::TYPE_VOIDP],
    rd_kafka_topic_destroy: [[T::TYPE_VOIDP], T::TYPE_VOID],
    rd_kafka_produce: [[T::TYPE_VOIDP, T::TYPE_INT32_T, T::TYPE_INT, T::TYPE_VOIDP, T::TYPE_SIZE_T,
                        T::TYPE_VOIDP, T::TYPE_SIZE_T, T::TYPE_VOIDP], T::TYPE_INT],
    rd_kafka_poll: [[T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_INT],
    rd_kafka_flush: [[T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_INT],
    rd_kafka_outq_len: [[T::TYPE_VOIDP], T::TYPE_INT],
    rd_kafka_poll_set_consumer: [[T::TYPE_VOIDP], T::TYPE_INT],
    rd_kafka_topic_partition_list_new: [[T::TYPE_INT], T::TYPE_VOIDP],
    rd_kafka_topic_partition_list_add: [[T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_INT32_T], T::TYPE_VOIDP],
    rd_kafka_topic_partition_list_destroy: [[T::TYPE_VOIDP], T::TYPE_VOID],
    rd_kafka_subscribe: [[T::TYPE_VOIDP, T::TYPE_VOIDP], T::TYPE_INT],
    rd_kafka_consumer_poll: [[T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_VOIDP],
    rd_kafka_message_destroy: [[T::TYPE_VOIDP], T::TYPE_VOID],
    rd_kafka_committed: [[T::TYPE_VOIDP, T::TYPE_VOIDP, T::TYPE_INT], T::TYPE_INT],
    rd_kafka_consumer_group_metadata: [[T::TYPE_VOIDP], T::TYPE_VOIDP],
    rd_kafka_consumer_close: [[T::TYPE_VOIDP], T::TYPE_INT],
    rd_kafka_err2str: [[T::TYPE_INT], T::TYPE_VOIDP],
    rd_kafka_topic_name: [[T::TYPE_VOIDP], T::TYPE_VOIDP]
  }.freeze

  # One message read by {Consumer#poll}: what `transaction_mark_as_consumed` needs.
  Message = Struct.new(:topic, :partition, :offset, :payload)

  attr_reader :path

  def initialize(path = DEBIAN_PATH)
    @path = path
    handle = Fiddle::Handle.new(path)
    @fns = SIGNATURES.to_h { |name, (args, ret)| [name, Fiddle::Function.new(handle[name.to_s], args, ret)] }
  end

  def call(name, *args) = @fns.fetch(name).call(*args)

  def version = call(:rd_kafka_version_str).to_s

  def err2str(code) = call(:rd_kafka_err2str, code).to_s

  # A client (`:producer` or `:consumer`) from a Hash of librdkafka properties.
  def client(type, settings)
    conf = call(:rd_kafka_conf_new)
    errstr = Fiddle::Pointer.malloc(512, Fiddle::RUBY_FREE)
    settings.each do |key, value|
      rc = call(:rd_kafka_conf_set, conf, key.to_s, value.to_s, errstr, 512)
      raise ArgumentError, "#{key}: #{errstr.to_s}" unless rc.zero?
    end
    rk = call(:rd_kafka_new, type == :producer ? 0 : 1, conf, errstr, 512)
    raise "rd_kafka_new: #{errstr.to_s}" if rk.null?

    (type == :producer ? Producer : Consumer).new(self, rk)
  end

  # A producer of the second librdkafka.
  class Producer
    def initialize(lib, rk)
      @lib = lib
      @rk = rk
      @topics = {}
    end

    # Enqueues one message (copied), to any partition.
    def produce(topic, payload, key = nil)
      rkt = (@topics[topic] ||= @lib.call(:rd_kafka_topic_new, @rk, topic, nil))
      key_len = key ? key.bytesize : 0
      rc = @lib.call(:rd_kafka_produce, rkt, -1, 2, payload, payload.bytesize, key, key_len, nil)
      raise "rd_kafka_produce failed: #{rc}" unless rc.zero?

      @lib.call(:rd_kafka_poll, @rk, 0)
    end

    # @return [Integer] messages not delivered after `timeout_ms`
    def flush(timeout_ms)
      @lib.call(:rd_kafka_flush, @rk, timeout_ms)
      @lib.call(:rd_kafka_outq_len, @rk)
    end

    def close
      @topics.each_value { |rkt| @lib.call(:rd_kafka_topic_destroy, rkt) }
      @lib.call(:rd_kafka_destroy, @rk)
    end
  end

  # A high-level (group) consumer of the second librdkafka. Offers only
  # #consumer_group_metadata_pointer, like karafka-rdkafka's consumer.
  class Consumer
    def initialize(lib, rk)
      @lib = lib
      @rk = rk
      @lib.call(:rd_kafka_poll_set_consumer, rk)
    end

    def subscribe(*topics)
      with_list(topics.map { |t| [t, -1] }) do |list|
        rc = @lib.call(:rd_kafka_subscribe, @rk, list)
        raise "subscribe: #{@lib.err2str(rc)}" unless rc.zero?
      end
    end

    # Polls until `count` messages arrived (or the deadline passes); raises on a consumer
    # error.
    def poll_messages(count, timeout: 30)
      messages = []
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      while messages.size < count && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        msg = @lib.call(:rd_kafka_consumer_poll, @rk, 200)
        next if msg.null?

        begin
          messages << read_message(msg)
        ensure
          @lib.call(:rd_kafka_message_destroy, msg)
        end
      end
      messages
    end

    # The group's committed offset of each [topic, partition] (-1001 when none).
    def committed(partitions, timeout_ms: 10_000)
      with_list(partitions) do |list|
        rc = @lib.call(:rd_kafka_committed, @rk, list, timeout_ms)
        raise "committed: #{@lib.err2str(rc)}" unless rc.zero?

        elems = Fiddle::Pointer.new(list[8, 8].unpack1("J"))
        Array.new(partitions.size) { |i| elems[i * 64 + 16, 8].unpack1("q") }
      end
    end

    # A new `rd_kafka_consumer_group_metadata_t *` (the caller releases it), as
    # karafka-rdkafka's Consumer#consumer_group_metadata_pointer returns.
    def consumer_group_metadata_pointer
      @lib.call(:rd_kafka_consumer_group_metadata, @rk)
    end

    def close
      @lib.call(:rd_kafka_consumer_close, @rk)
      @lib.call(:rd_kafka_destroy, @rk)
    end

    private

    # rd_kafka_message_t: err (int) @0, rkt @8, partition (int32) @16, payload @24, len @32,
    # key @40, key_len @48, offset (int64) @56.
    def read_message(msg)
      err = msg[0, 4].unpack1("l")
      raise "consumer error: #{@lib.err2str(err)}" unless err.zero?

      topic = @lib.call(:rd_kafka_topic_name, msg[8, 8].unpack1("J")).to_s
      payload_ptr = msg[24, 8].unpack1("J")
      len = msg[32, 8].unpack1("J")
      payload = payload_ptr.zero? ? nil : Fiddle::Pointer.new(payload_ptr)[0, len]
      Message.new(topic, msg[16, 4].unpack1("l"), msg[56, 8].unpack1("q"), payload)
    end

    # rd_kafka_topic_partition_t is 64 bytes: topic @0, partition @8, offset @16, ...
    def with_list(partitions)
      list = @lib.call(:rd_kafka_topic_partition_list_new, partitions.size)
      partitions.each { |topic, partition| @lib.call(:rd_kafka_topic_partition_list_add, list, topic, partition) }
      yield list
    ensure
      @lib.call(:rd_kafka_topic_partition_list_destroy, list) if list
    end
  end
end
