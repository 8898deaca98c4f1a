# frozen_string_literal: true

module WaterdropFd
  # Reads the consumer group metadata of a consumer that runs on ANOTHER librdkafka in the
  # process (karafka-rdkafka's, under Karafka), given only its
  # `rd_kafka_consumer_group_metadata_t *` (`consumer.consumer_group_metadata_pointer`).
  #
  # The pointer is never handed to this gem's librdkafka, whose struct layout and allocator
  # may differ. Instead the metadata is serialized by the library that made it
  # (`rd_kafka_consumer_group_metadata_write`, called through Fiddle), the buffer is freed by
  # that library (`rd_kafka_mem_free`), and the bytes are read by this gem's librdkafka
  # (`rd_kafka_consumer_group_metadata_read`, which rejects bytes it does not understand
  # with an error instead of reading out of bounds).
  #
  # The consumer's library is, in this order: the one set with {.library=}; the library of
  # `Rdkafka::Bindings` (karafka-rdkafka / rdkafka-ruby) when it is loaded; the only other
  # `librdkafka*.so*` mapped into the process.
  class ForeignGroupMetadata
    # Functions used from the consumer's librdkafka: name => [argument types, return type].
    FUNCTIONS = {
      write: ["rd_kafka_consumer_group_metadata_write", %i[voidp voidp voidp], :voidp],
      destroy: ["rd_kafka_consumer_group_metadata_destroy", %i[voidp], :void],
      mem_free: ["rd_kafka_mem_free", %i[voidp voidp], :void],
      error_string: ["rd_kafka_error_string", %i[voidp], :voidp],
      error_destroy: ["rd_kafka_error_destroy", %i[voidp], :void]
    }.freeze
    private_constant :FUNCTIONS

    @lock = Mutex.new
    @functions = {}
    @library = nil

    class << self
      # @return [String, nil] the path of the consumer's librdkafka, when set explicitly
      attr_reader :library

      # Names the consumer's librdkafka (a path or soname `dlopen` accepts), for when it
      # cannot be found on its own.
      # @param path [String, nil]
      def library=(path)
        @lock.synchronize do
          @library = path
          @functions = {}
        end
      end

      # Serializes the metadata behind `pointer` on its own librdkafka and reads it on
      # this gem's.
      # @param pointer [#address, #to_i] a `rd_kafka_consumer_group_metadata_t *` of the
      #   consumer's librdkafka (`FFI::Pointer`, `Fiddle::Pointer` or an address)
      # @return [Array(String, Integer, String, String, nil)] group id, generation id,
      #   member id, group instance id
      # @raise [WaterDrop::Errors::TransactionalOffsetInvalidError] for a NULL pointer or
      #   when the consumer's librdkafka cannot be found or refuses to serialize
      # @raise [WaterdropFd::RdkafkaError] (`:bad_msg`) when this gem's librdkafka cannot
      #   read what the consumer's wrote
      def read(pointer)
        address = address_of(pointer)
        invalid!("#consumer_group_metadata_pointer returned a NULL pointer") if address.zero?

        Native.consumer_group_metadata_read(serialize(address))
      end

      # Releases a metadata pointer with the librdkafka that made it.
      # @param pointer [#address, #to_i]
      # @return [nil]
      def destroy(pointer)
        address = address_of(pointer)
        functions[:destroy].call(address) unless address.zero?
        nil
      end

      private

      def serialize(address)
        fns = functions
        buffer = Fiddle::Pointer.malloc(Fiddle::SIZEOF_VOIDP, Fiddle::RUBY_FREE)
        size = Fiddle::Pointer.malloc(Fiddle::SIZEOF_SIZE_T, Fiddle::RUBY_FREE)
        error = fns[:write].call(address, buffer, size)
        unless error.null?
          message = fns[:error_string].call(error).to_s
          fns[:error_destroy].call(error)
          invalid!("the consumer's librdkafka could not serialize its group metadata: #{message}")
        end

        data = buffer[0, Fiddle::SIZEOF_VOIDP].unpack1("J")
        length = size[0, Fiddle::SIZEOF_SIZE_T].unpack1("J")
        begin
          Fiddle::Pointer.new(data)[0, length]
        ensure
          fns[:mem_free].call(0, data)
        end
      end

      def address_of(pointer)
        return pointer if pointer.is_a?(Integer)
        return pointer.address if pointer.respond_to?(:address)
        return pointer.to_i if pointer.respond_to?(:to_i)

        invalid!("#consumer_group_metadata_pointer must return a pointer, got #{pointer.class}")
      end

      def functions
        @lock.synchronize do
          return @functions unless @functions.empty?

          require "fiddle"
          path = @library || locate_library
          handle = Fiddle::Handle.new(path)
          @functions = FUNCTIONS.transform_values do |(name, args, ret)|
            types = args.map { |t| Fiddle.const_get(:"TYPE_#{t.upcase}") }
            Fiddle::Function.new(handle[name], types, Fiddle.const_get(:"TYPE_#{ret.upcase}"))
          end
        end
      rescue Fiddle::DLError => e
        invalid!("the consumer's librdkafka could not be used (#{e.message}); set " \
                 "WaterdropFd::ForeignGroupMetadata.library to its path")
      end

      def locate_library
        bindings = defined?(::Rdkafka::Bindings) && ::Rdkafka::Bindings
        if bindings.respond_to?(:ffi_libraries) && (lib = bindings.ffi_libraries.first) && lib.respond_to?(:name)
          return lib.name
        end

        own = File.expand_path("waterdrop_fd.so", __dir__)
        found = mapped_files.select { |f| File.basename(f).match?(/\Alibrdkafka.*\.so/) && f != own }.uniq
        return found.first if found.size == 1

        invalid!("cannot tell which librdkafka made the consumer's group metadata " \
                 "(#{found.empty? ? "none is loaded" : "found #{found.join(", ")}"}); set " \
                 "WaterdropFd::ForeignGroupMetadata.library to its path")
      end

      def mapped_files
        File.readlines("/proc/self/maps").filter_map { |line| line.split(" ", 6)[5]&.strip }
      rescue SystemCallError
        []
      end

      def invalid!(reason)
        raise WaterDrop::Errors::TransactionalOffsetInvalidError, { consumer: reason }.inspect
      end
    end
  end
end
