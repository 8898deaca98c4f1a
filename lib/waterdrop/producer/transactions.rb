# frozen_string_literal: true

require_relative "../../waterdrop_fd/foreign_group_metadata"

module WaterDrop
  class Producer
    # Kafka transactions, for producers configured with a `transactional.id`.
    #
    # A transactional producer initialises its transactions right after it connects, and it
    # never produces outside a transaction: every `produce_*` call made outside
    # {#transaction} runs in a transaction of its own (one per message, one per
    # `produce_many_*` batch), and the `*_sync` variants wait for the deliveries inside it.
    #
    # The blocking librdkafka calls (init, begin, commit, abort, send offsets) run on a native
    # worker thread; the calling Ruby thread waits on a file descriptor without the GVL, so
    # other threads keep running and the wait can be interrupted.
    #
    # Errors from those calls are handled as librdkafka classifies them:
    # - retryable: retried up to `max_attempts_on_transaction_command` times, sleeping
    #   `wait_backoff_on_transaction_command * attempt` ms in between;
    # - abortable: the transaction is aborted and the error raised;
    # - fatal: the client is unusable. With `reload_on_transaction_fatal_error` (the default)
    #   it is destroyed and rebuilt from the producer's config (`producer.reload` and
    #   `producer.reloaded` events), at most `max_attempts_on_transaction_fatal_error` times
    #   in a row, unless the error's code is in `non_reloadable_errors` (`:fenced` by default:
    #   a fenced producer rebuilt with the same `transactional.id` would fence its rival back).
    #   A transaction that `produce_*` opened on its own is then run again on the new client
    #   (nothing of it was committed); a {#transaction} block is never run twice: its error
    #   is raised.
    # Every failed attempt is reported through `error.occurred` with the type
    # `transaction.<action>` (`begin`, `commit`, `abort`, `store_offset`), `retry:` and
    # `attempt:`.
    module Transactions
      # Why a transaction block may not be left with `return`, `break` or `throw`.
      EARLY_EXIT_MESSAGE =
        "A transaction block was left with `return`, `break` or `throw`, so it is unknown " \
        "whether its work was complete: the transaction was aborted. Let the block finish, or " \
        "raise WaterDrop::AbortTransaction to abort on purpose. (`Timeout.timeout` without an " \
        "exception class leaves blocks with `throw`: pass a class as its second argument.)"

      # Runs the block in a Kafka transaction: everything produced in it (and the offsets
      # marked with {#transaction_mark_as_consumed}) is committed together when the block
      # returns, or aborted together when it raises.
      #
      # Calls nest: a `transaction` inside a `transaction` of the same thread joins the outer
      # one. Transactions of one producer are serialised: another thread waits for the
      # running transaction to end.
      #
      # @yield the work of the transaction
      # @return [Object, nil] the block's value; nil when aborted with
      #   {WaterDrop::AbortTransaction}
      # @raise [Errors::ProducerNotTransactionalError] when the producer has no
      #   `transactional.id`
      # @raise [WaterdropFd::PollerThreadWaitError] from a listener on the poller thread (its
      #   commit would wait for deliveries that only that thread serves)
      # @raise [Errors::EarlyTransactionExitNotAllowedError] when the block was left with
      #   `return`, `break` or `throw` (the transaction is aborted first)
      # @raise [WaterdropFd::RdkafkaError] when a transaction command failed for good
      # @raise [Exception] whatever the block raised (other than AbortTransaction), after
      #   the transaction was aborted
      #
      # @example
      #   producer.transaction do
      #     producer.produce_async(topic: "orders", payload: order.to_json)
      #     producer.produce_async(topic: "audit", payload: "order #{order.id}")
      #   end
      #
      # @example Aborting on purpose (nothing is raised)
      #   producer.transaction do
      #     producer.produce_async(topic: "orders", payload: "draft")
      #     raise WaterDrop::AbortTransaction
      #   end
      def transaction(&block)
        raise Errors::ProducerNotTransactionalError, "#{id} is not transactional" unless transactional?

        ensure_not_on_own_poller!("transaction")

        if @transaction_mutex.owned?
          return yield if @transaction_open

          # The lock is held without a transaction only by `close` (its final buffer flush).
          return run_transaction(&block)
        end

        @transaction_mutex.synchronize do
          ensure_active!
          run_transaction(&block)
        end
      end

      # @return [Boolean] whether the producer has a `transactional.id` (false before
      #   `setup`)
      def transactional?
        !@config.nil? && @config.kafka.key?(:"transactional.id")
      end

      # @return [Boolean] whether the current thread is inside a transaction of this producer
      def transaction?
        @transaction_mutex.owned? && @transaction_open == true
      end

      # Commits a consumer's progress in the current transaction: the offset after `message`
      # (`message.offset + 1`) is stored for the consumer's group when the transaction
      # commits, and dropped when it aborts (exactly-once consume-transform-produce).
      #
      # The consumer group is described by `consumer.consumer_group_metadata`, which must
      # return either the group id (a String) or a Hash with `:group_id` and, for a consumer
      # that is a live member of the group, `:generation_id`, `:member_id` and
      # `:group_instance_id` (String or Symbol keys). waterdrop_fd builds librdkafka's group
      # metadata from these values with its own librdkafka.
      #
      # A consumer that only answers `consumer_group_metadata_pointer` (karafka-rdkafka's
      # consumer, as Karafka passes it) is served too: that
      # `rd_kafka_consumer_group_metadata_t *` belongs to the consumer's librdkafka, another
      # build than this gem's, so it is never given to this gem's librdkafka. The metadata is
      # serialized by the consumer's library and read back by this gem's (see
      # {WaterdropFd::ForeignGroupMetadata}); the pointer is then released with the consumer's
      # library, as WaterDrop does.
      #
      # With a group id only (generation -1, no member id), the broker accepts the offsets
      # only while the group has no active members (a group that is not consuming, or is
      # managed by hand); a live member must pass its generation and member id.
      #
      # @param consumer [#consumer_group_metadata, #consumer_group_metadata_pointer] the
      #   consumer whose progress is committed
      # @param message [#topic, #partition, #offset] the last message processed
      # @param offset_metadata [String, nil] metadata stored with the offset
      # @return [nil]
      # @raise [Errors::TransactionRequiredError] outside a transaction
      # @raise [Errors::TransactionalOffsetInvalidError] for an unusable consumer, message or
      #   metadata
      # @raise [WaterdropFd::RdkafkaError] when librdkafka refused the offsets
      #
      # @example Inside a consume-transform-produce loop
      #   GroupInfo = Struct.new(:consumer_group_metadata)
      #   group = GroupInfo.new({ group_id: "billing", generation_id: gen, member_id: member })
      #   producer.transaction do
      #     producer.produce_async(topic: "invoices", payload: invoice_for(message))
      #     producer.transaction_mark_as_consumed(group, message)
      #   end
      def transaction_mark_as_consumed(consumer, message, offset_metadata = nil)
        unless transaction?
          raise Errors::TransactionRequiredError,
                "#{id}: transaction_mark_as_consumed must be called inside producer.transaction { }"
        end

        group = transactional_consumer_group(consumer)
        validate_transactional_offset!(message, offset_metadata)
        offsets = [[message.topic.to_s, message.partition, message.offset + 1, offset_metadata]]

        instrument_transaction("marked_as_consumed", message: message, offset_metadata: offset_metadata) do
          transaction_command("store_offset") do
            native_client.send_offsets_to_transaction(group, offsets, current_variant.max_wait_timeout.to_i)
          end
        end
        nil
      end

      private

      # Wraps one dispatch of `produce_*`: in the current transaction when there is one, in
      # a transaction of its own when the producer is transactional, as it is otherwise.
      def in_transaction_if_transactional(&block)
        return yield unless transactional?
        return note_transaction_dispatch(yield) if transaction?

        ensure_not_on_own_poller!("transaction")
        # The closing thread holds the lock already (final buffer flush).
        return run_own_transaction(&block) if @transaction_mutex.owned?

        @transaction_mutex.synchronize do
          ensure_active!
          run_own_transaction(&block)
        end
      end

      # Errors with which librdkafka ends the transaction that follows a message the broker
      # refused: the refused message left a gap in the partition's sequence numbers, so
      # librdkafka bumps the producer epoch and fails (purges, or refuses at commit) what the
      # next transaction holds.
      EPOCH_BUMP_CODES = %i[purge_queue purge_inflight out_of_order_sequence_number].freeze
      private_constant :EPOCH_BUMP_CODES

      # A transaction opened for one `produce_*` call. When it failed because the client
      # hit a fatal error and was rebuilt, nothing of it was committed, so it runs again on
      # the new client (bounded by `max_attempts_on_transaction_fatal_error`). When it was
      # aborted by the epoch bump that follows a refused message, it runs again once: it was
      # aborted, so nothing of it is visible, and the bumped epoch lets the next attempt
      # through (WaterDrop's users see the produce after a refused message succeed).
      def run_own_transaction
        bump_retried = false
        loop do
          reloads = @transaction_reloads || 0
          begin
            return run_transaction { note_transaction_dispatch(yield) }
          rescue StandardError => e
            next if (@transaction_reloads || 0) != reloads
            raise if bump_retried || !aborted_by_epoch_bump?(e)

            bump_retried = true
          end
        end
      end

      # @return [Boolean] whether `error` is how librdkafka ends the transaction after a
      #   refused message (see EPOCH_BUMP_CODES)
      def aborted_by_epoch_bump?(error)
        error = error.cause unless error.is_a?(WaterdropFd::RdkafkaError)
        error.is_a?(WaterdropFd::RdkafkaError) && !error.fatal? && EPOCH_BUMP_CODES.include?(error.code)
      end

      # Begins, runs the block, commits; aborts on any exception. The caller holds
      # @transaction_mutex.
      def run_transaction
        @transaction_open = true
        @transaction_aborted = false
        @transaction_first_handle = nil
        began = false
        native = nil

        instrument_transaction("finished") do
          native = client
          transaction_command("begin") do
            instrument_transaction("started") { native.transaction("begin", -1) }
          end
          began = true
          result = run_transaction_block { yield }
          transaction_command("commit") do
            instrument_transaction("committed") { native.transaction("commit", -1) }
          end
          @transaction_fatal_error_attempts = 0
          result
        rescue Exception => e
          # Whatever ended the block (even Interrupt or Timeout), the transaction must not
          # stay open. After a fatal error there is nothing to abort: the client is unusable.
          abort_failed_transaction(e, native) if began && !@transaction_aborted && !librdkafka_fatal?(e)
          reload_after_transaction_error(e)
          raise unless e.is_a?(Errors::AbortTransaction)

          nil
        end
      ensure
        @transaction_open = false
        @transaction_first_handle = nil
      end

      # Runs the user's block, turning `return`, `break` and `throw` out of it into
      # {Errors::EarlyTransactionExitNotAllowedError}.
      def run_transaction_block
        finished = false
        raised = false
        result = yield
        finished = true
        result
      rescue Exception
        raised = true
        raise
      ensure
        raise Errors::EarlyTransactionExitNotAllowedError, EARLY_EXIT_MESSAGE unless finished || raised
      end

      # Aborts the running transaction after `error`. When the abort itself fails, the
      # client may be rebuilt (fatal error) and the abort's error is raised (with `error` as
      # its cause).
      def abort_failed_transaction(error, native)
        @transaction_aborted = true
        transaction_command("abort") do
          await_first_transaction_delivery(error)
          instrument_transaction("aborted") { native.transaction("abort", -1) }
        end
      rescue StandardError => e
        reload_after_transaction_error(e)
        raise
      end

      # Runs one transaction command with librdkafka's error classes handled (see the module
      # documentation).
      # @param action [String] begin, commit, abort or store_offset
      # @param abortable [Boolean] whether an abortable error aborts the transaction (not
      #   when the command is that abort)
      def transaction_command(action, abortable: true)
        attempt = 0
        begin
          attempt += 1
          yield
        rescue WaterdropFd::RdkafkaError => e
          again = e.retryable? && !e.fatal? && attempt < @config.max_attempts_on_transaction_command
          @monitor.instrument(
            "error.occurred",
            producer_id: id, caller: self, error: e, type: "transaction.#{action}", retry: again, attempt: attempt
          )
          raise if e.fatal?

          if again
            sleep(@config.wait_backoff_on_transaction_command * attempt / 1000.0)
            retry
          end
          abort_after_abortable_error if e.abortable? && abortable && action != "abort"
          raise
        end
      end

      # librdkafka said the transaction can only be aborted: abort it now (once).
      def abort_after_abortable_error
        @transaction_aborted = true
        transaction_command("abort", abortable: false) do
          instrument_transaction("aborted") { client.transaction("abort", -1) }
        end
      end

      # Remembers the first delivery of the current transaction (see
      # {#await_first_transaction_delivery}).
      # @return [Object] `result`, unchanged
      def note_transaction_dispatch(result)
        if @transaction_first_handle.nil?
          first = result.is_a?(Array) ? result.first : result
          @transaction_first_handle = first if first.is_a?(WaterdropFd::DeliveryHandle)
        end
        result
      end

      # librdkafka can hit a fatal INVALID_TXN_STATE when a transaction is aborted while its
      # first message is still in flight (librdkafka issue 4849). With
      # `wait_timeout_on_transaction_abort` > 0, an abort asked for by the application first
      # waits (up to that many ms) for the first delivery of the transaction. Not when
      # librdkafka itself failed the transaction: then nothing more is delivered.
      def await_first_transaction_delivery(error)
        timeout = @config.wait_timeout_on_transaction_abort
        handle = @transaction_first_handle
        return unless timeout.positive? && handle
        return if error.is_a?(WaterdropFd::Error) || error.cause.is_a?(WaterdropFd::Error)

        handle.wait(max_wait_timeout_ms: timeout.to_i, raise_response_error: false)
      rescue WaterdropFd::WaitTimeoutError, WaterdropFd::RdkafkaError
        nil
      end

      # @return [Boolean] whether `error` (or its cause) is a fatal librdkafka error
      def librdkafka_fatal?(error)
        rd_error = error.is_a?(WaterdropFd::RdkafkaError) ? error : error.cause
        rd_error.is_a?(WaterdropFd::RdkafkaError) && rd_error.fatal?
      end

      # After a fatal librdkafka error in a transaction, rebuilds the client when allowed.
      # @return [Boolean] whether the client was rebuilt
      def reload_after_transaction_error(error)
        return false unless librdkafka_fatal?(error)

        rd_error = error.is_a?(WaterdropFd::RdkafkaError) ? error : error.cause
        return false unless @config.reload_on_transaction_fatal_error
        # Never from the closing thread (it is tearing the client down anyway), nor from a
        # listener on the poller thread (the reload waits for that thread).
        return false if @operating_mutex.owned? || poller.in_poller_thread?

        native = @native
        return false unless native

        rd_error = resolve_fatal_error(rd_error, native)
        return false if @config.non_reloadable_errors.include?(rd_error.code)

        attempts = @transaction_fatal_error_attempts || 0
        return false if attempts >= @config.max_attempts_on_transaction_fatal_error

        @transaction_fatal_error_attempts = attempts + 1
        return false unless @operating_mutex.synchronize { reload_client(native, rd_error, attempts + 1) }

        @transaction_reloads = (@transaction_reloads || 0) + 1
        sleep(@config.wait_backoff_on_transaction_fatal_error / 1000.0)
        true
      end

      # Runs `init_transactions` on a client that `connect` just built (and registered with
      # the poller, when it is librdkafka's). When that fails the client is torn down again
      # and the error raised: the next use tries to connect from scratch.
      # @param native [WaterdropFd::Native::Producer, Clients::Dummy]
      def init_transactions_on_connect(native)
        return unless transactional?

        native.transaction("init", -1)
      rescue Exception
        begin
          poller.unregister(self) if librdkafka_client?(native)
        ensure
          native.destroy
          @native = nil
          refresh_fast_path
        end
        raise
      end

      # @return [Array(String, Integer, String, String, nil)] the consumer group of
      #   `consumer`, as {WaterdropFd::Native::Producer#send_offsets_to_transaction} takes it
      # @raise [Errors::TransactionalOffsetInvalidError]
      def transactional_consumer_group(consumer)
        return normalize_consumer_group(consumer.consumer_group_metadata) if consumer.respond_to?(:consumer_group_metadata)
        return foreign_consumer_group(consumer) if consumer.respond_to?(:consumer_group_metadata_pointer)

        invalid_consumer_group!(
          "must respond to #consumer_group_metadata (the group id, or a Hash with :group_id, :generation_id, " \
          ":member_id and :group_instance_id) or #consumer_group_metadata_pointer (karafka-rdkafka's consumer)"
        )
      end

      # The group of a consumer that runs on another librdkafka and offers only its metadata
      # pointer: serialized there, read here, the pointer released there.
      def foreign_consumer_group(consumer)
        pointer = consumer.consumer_group_metadata_pointer
        begin
          WaterdropFd::ForeignGroupMetadata.read(pointer)
        ensure
          WaterdropFd::ForeignGroupMetadata.destroy(pointer) unless pointer.nil?
        end
      end

      def normalize_consumer_group(metadata)
        metadata = { group_id: metadata } if metadata.is_a?(String)
        unless metadata.is_a?(Hash)
          invalid_consumer_group!("#consumer_group_metadata must return a String or a Hash, got #{metadata.class}")
        end

        fetch = ->(key) { metadata.fetch(key) { metadata[key.to_s] } }
        group_id = fetch.call(:group_id)
        generation = fetch.call(:generation_id)
        generation = -1 if generation.nil?
        member_id = fetch.call(:member_id) || ""
        instance_id = fetch.call(:group_instance_id)

        invalid_consumer_group!("group_id must be a non-empty String") unless group_id.is_a?(String) && !group_id.empty?
        unless generation.is_a?(Integer) && generation.between?(-1, 2**31 - 1)
          invalid_consumer_group!("generation_id must be an Integer >= -1")
        end
        invalid_consumer_group!("member_id must be a String") unless member_id.is_a?(String)
        unless instance_id.nil? || (instance_id.is_a?(String) && !instance_id.empty?)
          invalid_consumer_group!("group_instance_id must be nil or a non-empty String")
        end

        [group_id, generation, member_id, instance_id]
      end

      def invalid_consumer_group!(reason)
        raise Errors::TransactionalOffsetInvalidError, { consumer: reason }.inspect
      end

      def validate_transactional_offset!(message, offset_metadata)
        errors = {}
        if !%i[topic partition offset].all? { |m| message.respond_to?(m) }
          errors[:message] = "must respond to #topic, #partition and #offset"
        elsif !message.partition.is_a?(Integer) || !message.offset.is_a?(Integer) || message.offset.negative?
          errors[:message] = "partition and offset must be Integers (offset >= 0)"
        end
        errors[:offset_metadata] = "must be string or nil" unless offset_metadata.nil? || offset_metadata.is_a?(String)
        raise Errors::TransactionalOffsetInvalidError, errors.inspect unless errors.empty?
      end

      # Instruments `transaction.<name>` with the producer id (and the block's time).
      def instrument_transaction(name, details = {}, &block)
        @monitor.instrument("transaction.#{name}", details.merge(producer_id: id), &block)
      end
    end
  end
end
