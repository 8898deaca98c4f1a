# frozen_string_literal: true

require "spec_helper"
require "waterdrop/producer/testing"

# Transactions against librdkafka's mock cluster. The mock does not hide aborted records
# from `read_committed` readers, so what readers see is checked in spec/broker.
TxnMessage = Struct.new(:topic, :partition, :offset) unless defined?(TxnMessage)
TxnConsumer = Struct.new(:consumer_group_metadata) unless defined?(TxnConsumer)

RSpec.describe "WaterDrop::Producer transactions" do
  let(:topic) { mock_topic(partitions: 2) }
  let(:settings) { {} }
  let(:producer) do
    build_producer(
      kafka: { "transactional.id": "txn-#{SecureRandom.hex(6)}" },
      wait_backoff_on_transaction_command: 10,
      wait_backoff_on_transaction_fatal_error: 10,
      **settings
    )
  end

  before { producer.singleton_class.include(WaterDrop::Producer::Testing) }

  # The mock cluster is shared: never leave injected errors behind for other examples.
  after do
    [22, 24, 26, 28].each { |api_key| mock_cluster.clear_request_errors(api_key) }
  end

  def record(*names)
    list = []
    names.each { |name| producer.monitor.subscribe(name) { |event| list << event } }
    list
  end

  def transaction_events
    record("transaction.started", "transaction.committed", "transaction.aborted", "transaction.finished")
  end

  def payloads(topic)
    kcat_read(topic, "%s").sort
  end

  # Replaces one native call with a version that fails `failures` times first.
  def fail_native(method, failures, error)
    native = producer.native_client
    original = native.method(method)
    calls = Hash.new(0)
    allow(native).to receive(method) do |*args|
      key = args.first.is_a?(String) ? args.first : method.to_s
      calls[key] += 1
      raise error if calls[key] <= failures && (method != :transaction || args.first == "commit")

      original.call(*args)
    end
    calls
  end

  describe "#transaction" do
    it "commits what the block produced and returns the block's value" do
      events = transaction_events
      result = producer.transaction do
        producer.produce_async(topic: topic, payload: "a", partition: 0)
        producer.produce_sync(topic: topic, payload: "b", partition: 1)
        :done
      end
      expect(result).to eq(:done)
      expect(payloads(topic)).to eq(%w[a b])
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.committed transaction.finished])
      events.each do |event|
        expect(event.payload.keys).to contain_exactly(:producer_id, :time)
        expect(event[:producer_id]).to eq(producer.id)
        expect(event[:time]).to be_a(Float)
      end
    end

    it "initialises transactions when connecting, once" do
      producer.transaction { producer.produce_sync(topic: topic, payload: "1") }
      client = producer.native_client
      producer.transaction { producer.produce_sync(topic: topic, payload: "2") }
      expect(producer.native_client).to equal(client)
      expect(producer.status).to be_connected
    end

    it "aborts quietly on WaterDrop::AbortTransaction and returns nil" do
      events = transaction_events
      errors = record("error.occurred")
      result = producer.transaction do
        producer.produce_sync(topic: topic, payload: "gone")
        raise WaterDrop::AbortTransaction
      end
      expect(result).to be_nil
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted transaction.finished])
      expect(errors).to be_empty
      expect(producer.transaction { producer.produce_sync(topic: topic, payload: "next").offset }).to be >= 0
    end

    it "aborts and re-raises any other exception" do
      events = transaction_events
      expect do
        producer.transaction do
          producer.produce_async(topic: topic, payload: "x")
          raise ArgumentError, "mine"
        end
      end.to raise_error(ArgumentError, "mine")
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
    end

    it "aborts on exceptions outside StandardError too" do
      events = transaction_events
      expect { producer.transaction { raise Interrupt } }.to raise_error(Interrupt)
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
    end

    it "joins the running transaction when called again in the same thread" do
      events = transaction_events
      result = producer.transaction do
        producer.produce_sync(topic: topic, payload: "outer")
        producer.transaction { producer.produce_sync(topic: topic, payload: "inner") && :inner }
      end
      expect(result).to eq(:inner)
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.committed transaction.finished])
      expect(payloads(topic)).to eq(%w[inner outer])
    end

    it "makes other threads wait for the running transaction" do
      inside = Queue.new
      order = Queue.new
      first = Thread.new do
        producer.transaction do
          inside << true
          sleep 0.3
          order << :first
        end
      end
      inside.pop
      second = Thread.new { producer.transaction { order << :second } }
      [first, second].each(&:join)
      expect([order.pop, order.pop]).to eq(%i[first second])
    end

    it "reports transaction? only inside the block of the current thread" do
      seen_elsewhere = nil
      inside = producer.transaction do
        seen_elsewhere = Thread.new { producer.transaction? }.value
        producer.transaction?
      end
      expect(inside).to be(true)
      expect(seen_elsewhere).to be(false)
      expect(producer.transaction?).to be(false)
    end

    describe "leaving the block early" do
      def leave_with_return
        producer.transaction { return :early }
      end

      it "turns break into EarlyTransactionExitNotAllowedError after aborting" do
        events = transaction_events
        expect { producer.transaction { break :out } }
          .to raise_error(WaterDrop::Errors::EarlyTransactionExitNotAllowedError, /return`, `break` or `throw/)
        expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
      end

      it "turns return into EarlyTransactionExitNotAllowedError after aborting" do
        events = transaction_events
        expect { leave_with_return }.to raise_error(WaterDrop::Errors::EarlyTransactionExitNotAllowedError)
        expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
      end

      it "turns throw into EarlyTransactionExitNotAllowedError after aborting" do
        events = transaction_events
        expect { catch(:leave) { producer.transaction { throw :leave } } }
          .to raise_error(WaterDrop::Errors::EarlyTransactionExitNotAllowedError)
        expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
        expect(producer.transaction { :usable }).to eq(:usable)
      end
    end
  end

  describe "produce_* on a transactional producer" do
    it "runs each call made outside a block in a transaction of its own" do
      events = transaction_events
      report = producer.produce_sync(topic: topic, payload: "solo", partition: 0)
      expect(report.offset).to be >= 0
      handle = producer.produce_async(topic: topic, payload: "async", partition: 0)
      expect(handle.pending?).to be(false) # the commit waited for it
      producer.produce_many_sync(Array.new(3) { |i| { topic: topic, payload: "m#{i}", partition: 1 } })
      expect(events.map(&:id).count("transaction.committed")).to eq(3)
      expect(payloads(topic)).to eq(%w[async m0 m1 m2 solo])
    end

    it "uses the block's transaction inside a block" do
      events = transaction_events
      producer.transaction do
        producer.produce_sync(topic: topic, payload: "1")
        producer.produce_many_async([{ topic: topic, payload: "2" }, { topic: topic, payload: "3" }])
      end
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.committed transaction.finished])
    end

    it "reports purged deliveries of an aborted transaction as message.purged, not as errors" do
      purged = record("message.purged")
      errors = record("error.occurred")
      producer.transaction { producer.produce_sync(topic: topic, payload: "warm") }
      (1..3).each { |broker| mock_cluster.set_rtt(broker, 300) }
      handles = []
      begin
        producer.transaction do
          handles << producer.produce_async(topic: topic, payload: "doomed", label: :doomed)
          raise WaterDrop::AbortTransaction
        end
      ensure
        (1..3).each { |broker| mock_cluster.set_rtt(broker, 0) }
      end
      report = handles.first.wait(raise_response_error: false)
      expect(report.error.code).to eq(:purge_queue).or eq(:purge_inflight)
      wait_until { purged.any? }
      expect(purged.first[:type]).to eq("librdkafka.dispatch_error")
      expect(purged.first[:label]).to eq(:doomed)
      expect(purged.first[:error]).to be_a(WaterdropFd::RdkafkaError)
      expect(errors.select { |e| e[:type] == "librdkafka.dispatch_error" }).to be_empty
    end

    it "waits for the first delivery before an abort when wait_timeout_on_transaction_abort is set" do
      producer.config.wait_timeout_on_transaction_abort = 5_000
      producer.produce_sync(topic: topic, payload: "warm")
      handles = Array.new(3) do
        handle = nil
        producer.transaction do
          handle = producer.produce_async(topic: topic, payload: "first")
          raise WaterDrop::AbortTransaction
        end
        handle
      end
      # Without the wait the abort purges the message (its report carries a purge error);
      # with it, the message was acknowledged before the abort.
      expect(handles.map { |h| h.wait(raise_response_error: false).error }).to eq([nil, nil, nil])
    end
  end

  describe "#close" do
    it "raises ProducerTransactionalCloseAttemptError inside a transaction" do
      expect { producer.transaction { producer.close } }
        .to raise_error(WaterDrop::Errors::ProducerTransactionalCloseAttemptError, producer.id)
      expect(producer.status).to be_connected
    end

    it "waits for a transaction of another thread to finish" do
      inside = Queue.new
      worker = Thread.new do
        producer.transaction do
          inside << true
          sleep 0.3
          producer.produce_sync(topic: topic, payload: "last").offset
        end
      end
      inside.pop
      producer.close
      expect(worker.value).to be >= 0
      expect(producer.status).to be_closed
    end

    it "flushes buffered messages in a transaction when closing" do
      producer.buffer(topic: topic, payload: "buffered")
      events = transaction_events
      producer.close
      expect(events.map(&:id)).to include("transaction.committed")
      expect(payloads(topic)).to eq(%w[buffered])
    end
  end

  describe "errors of transaction commands" do
    let(:settings) { { max_attempts_on_transaction_command: 3 } }

    it "leaves coordinator errors to librdkafka's own retries (EndTxn CONCURRENT_TRANSACTIONS)" do
      producer.produce_sync(topic: topic, payload: "warm")
      errors = record("error.occurred")
      mock_cluster.push_request_errors(26, 51, 51, 51)
      expect(producer.transaction { producer.produce_sync(topic: topic, payload: "x").offset }).to be >= 0
      expect(errors).to be_empty
    end

    it "retries a retryable error with a growing back-off, reporting each attempt" do
      producer.produce_sync(topic: topic, payload: "warm")
      errors = record("error.occurred")
      events = transaction_events
      calls = fail_native(:transaction, 2, WaterdropFd::RdkafkaError.new(-185, retryable: true))
      producer.transaction { producer.produce_sync(topic: topic, payload: "x") }
      expect(calls["commit"]).to eq(3)
      expect(errors.map { |e| [e[:type], e[:retry], e[:attempt]] })
        .to eq([["transaction.commit", true, 1], ["transaction.commit", true, 2]])
      expect(errors.first[:caller]).to equal(producer)
      expect(errors.first[:error].code).to eq(:timed_out)
      expect(events.map(&:id).last(2)).to eq(%w[transaction.committed transaction.finished])
    end

    it "gives up after max_attempts_on_transaction_command and aborts" do
      producer.produce_sync(topic: topic, payload: "warm")
      errors = record("error.occurred")
      events = transaction_events
      fail_native(:transaction, 5, WaterdropFd::RdkafkaError.new(-185, retryable: true))
      expect { producer.transaction { producer.produce_sync(topic: topic, payload: "x") } }
        .to raise_error(WaterdropFd::RdkafkaError, /timed_out/)
      expect(errors.map { |e| [e[:retry], e[:attempt]] }).to eq([[true, 1], [true, 2], [false, 3]])
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
    end

    it "aborts on an abortable error (EndTxn REQUEST_TIMED_OUT) and raises it" do
      producer.produce_sync(topic: topic, payload: "warm")
      errors = record("error.occurred")
      events = transaction_events
      mock_cluster.push_request_errors(26, 7)
      expect { producer.transaction { producer.produce_async(topic: topic, payload: "x") } }
        .to raise_error(WaterdropFd::RdkafkaError) { |e| expect(e).to be_abortable }
      expect(errors.map { |e| [e[:type], e[:retry], e[:attempt]] }).to eq([["transaction.commit", false, 1]])
      expect(events.map(&:id)).to eq(%w[transaction.started transaction.aborted])
      expect(producer.transaction { producer.produce_sync(topic: topic, payload: "y").offset }).to be >= 0
    end
  end

  describe "fatal errors" do
    let(:reloads) { record("producer.reload", "producer.reloaded") }

    it "rebuilds the client and raises in a block (AddPartitionsToTxn TRANSACTIONAL_ID_AUTHORIZATION_FAILED)" do
      producer.produce_sync(topic: topic, payload: "warm")
      old_client = producer.native_client
      reloads
      mock_cluster.push_request_errors(24, 53)
      # The delivery fails, the block raises, and the abort finds the client in the fatal
      # state: the abort's error is raised (the block's error is its cause).
      expect { producer.transaction { producer.produce_sync(topic: topic, payload: "x") } }
        .to raise_error(WaterdropFd::RdkafkaError) { |e|
          expect(e).to be_fatal
          expect(e.cause).to be_a(WaterDrop::Errors::ProduceError)
        }
      expect(reloads.map(&:id)).to eq(%w[producer.reload producer.reloaded])
      reload, reloaded = reloads
      expect(reload.payload.keys).to contain_exactly(:producer_id, :error, :attempt, :caller)
      expect(reload[:caller]).to equal(producer)
      expect(reload[:attempt]).to eq(1)
      expect(reload[:error].code).to eq(:transactional_id_authorization_failed)
      expect(reloaded.payload.keys).to contain_exactly(:producer_id, :attempt, :time)
      expect(producer.native_client).not_to equal(old_client)
      expect(producer.transaction { producer.produce_sync(topic: topic, payload: "y").offset }).to be >= 0
    end

    it "runs a produce_* call's own transaction again on the new client (EndTxn INVALID_TXN_STATE)" do
      producer.produce_sync(topic: topic, payload: "warm")
      reloads
      mock_cluster.push_request_errors(26, 48)
      report = producer.produce_sync(topic: topic, payload: "kept", partition: 0)
      expect(report.offset).to be >= 0
      expect(reloads.map(&:id)).to eq(%w[producer.reload producer.reloaded])
      expect(reloads.first[:error].code).to eq(:invalid_txn_state)
    end

    it "recovers from a fatal error raised with trigger_test_fatal_error" do
      producer.produce_sync(topic: topic, payload: "warm")
      reloads
      expect(producer.trigger_test_fatal_error(47, "test")).to eq(0)
      expect(producer.fatal_error).to eq(error_code: 47, error_string: "test_fatal_error: test")
      expect(producer.produce_sync(topic: topic, payload: "after").offset).to be >= 0
      expect(reloads.map { |e| [e.id, e[:attempt]] }).to eq([["producer.reload", 1], ["producer.reloaded", 1]])
      expect(producer.fatal_error).to be_nil
    end

    it "stops reloading after max_attempts_on_transaction_fatal_error reloads in a row" do
      producer.config.max_attempts_on_transaction_fatal_error = 1
      producer.produce_sync(topic: topic, payload: "warm")
      reloads
      mock_cluster.push_request_errors(26, 48, 48)
      expect { producer.produce_sync(topic: topic, payload: "x") }.to raise_error(WaterDrop::Errors::ProduceError)
      expect(reloads.map(&:id)).to eq(%w[producer.reload producer.reloaded])
    end

    it "never reloads a fenced producer by default" do
      producer.produce_sync(topic: topic, payload: "warm")
      reloads
      producer.trigger_test_fatal_error(-144, "fenced by a newer instance")
      expect { producer.produce_sync(topic: topic, payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError) { |e| expect(e.cause.code).to eq(:fenced) }
      expect(reloads).to be_empty
    end

    context "with non_reloadable_errors emptied" do
      let(:settings) { { non_reloadable_errors: [] } }

      it "reloads a fenced producer too" do
        producer.produce_sync(topic: topic, payload: "warm")
        reloads
        producer.trigger_test_fatal_error(-144, "fenced")
        expect(producer.produce_sync(topic: topic, payload: "x").offset).to be >= 0
        expect(reloads.first[:error].code).to eq(:fenced)
      end
    end

    context "with reload_on_transaction_fatal_error off" do
      let(:settings) { { reload_on_transaction_fatal_error: false } }

      it "raises the fatal error and keeps the client" do
        producer.produce_sync(topic: topic, payload: "warm")
        client = producer.native_client
        reloads
        producer.trigger_test_fatal_error(47, "test")
        expect { producer.produce_sync(topic: topic, payload: "x") }.to raise_error(WaterDrop::Errors::ProduceError)
        expect(reloads).to be_empty
        expect(producer.native_client).to equal(client)
      end
    end

    it "builds the new client from the config a producer.reload listener changed" do
      producer.produce_sync(topic: topic, payload: "warm")
      new_id = "txn-renamed-#{SecureRandom.hex(4)}"
      producer.monitor.subscribe("producer.reload") do |event|
        event[:caller].config.kafka[:"transactional.id"] = new_id
        event[:caller].config.kafka[:"client.id"] = "renamed"
      end
      producer.trigger_test_fatal_error(47, "test")
      expect(producer.produce_sync(topic: topic, payload: "x").offset).to be >= 0
      expect(producer.native_client.name).to start_with("renamed#")
    end
  end

  describe "init_transactions" do
    let(:poller) { WaterDrop::Polling::Poller.new }
    let(:settings) { { polling: { poller: poller } } }

    it "tears the new client down when InitProducerId fails, and connects on the next use" do
      errors = record("error.occurred")
      mock_cluster.push_request_errors(22, 53)
      expect { producer.produce_sync(topic: topic, payload: "x") }
        .to raise_error(WaterDrop::Errors::ProduceError, /transactional_id_authorization_failed/)
      expect(producer.status).to be_configured
      expect(poller.count).to eq(0)
      expect(errors.map { |e| e[:type] }).to include("message.produce_sync")
      expect(producer.produce_sync(topic: topic, payload: "y").offset).to be >= 0
      expect(producer.status).to be_connected
      expect(poller.count).to eq(1)
    end
  end

  describe "#transaction_mark_as_consumed" do
    let(:message) { TxnMessage.new(topic, 1, 41) }

    it "adds the next offset to the transaction and instruments transaction.marked_as_consumed" do
      events = record("transaction.marked_as_consumed")
      consumer = TxnConsumer.new({ group_id: "billing", generation_id: -1, member_id: "", group_instance_id: nil })
      native = producer.native_client
      allow(native).to receive(:send_offsets_to_transaction).and_call_original
      result = producer.transaction do
        producer.produce_async(topic: topic, payload: "out")
        producer.transaction_mark_as_consumed(consumer, message, "meta")
      end
      expect(result).to be_nil
      expect(native).to have_received(:send_offsets_to_transaction)
        .with(["billing", -1, "", nil], [[topic, 1, 42, "meta"]], 180_000)
      expect(events.size).to eq(1)
      expect(events.first.payload.keys).to contain_exactly(:message, :offset_metadata, :producer_id, :time)
      expect(events.first[:message]).to equal(message)
      expect(events.first[:offset_metadata]).to eq("meta")
    end

    it "accepts a group id String and Hashes with String keys" do
      producer.transaction do
        producer.transaction_mark_as_consumed(TxnConsumer.new("plain-group"), message)
        producer.transaction_mark_as_consumed(TxnConsumer.new({ "group_id" => "string-keys" }), message)
      end
    end

    it "raises TransactionRequiredError outside a transaction" do
      expect { producer.transaction_mark_as_consumed(TxnConsumer.new("g"), message) }
        .to raise_error(WaterDrop::Errors::TransactionRequiredError)
    end

    it "retries a retryable store_offset error" do
      errors = record("error.occurred")
      producer.produce_sync(topic: topic, payload: "warm")
      calls = fail_native(:send_offsets_to_transaction, 1, WaterdropFd::RdkafkaError.new(-185, retryable: true))
      producer.transaction { producer.transaction_mark_as_consumed(TxnConsumer.new("g"), message) }
      expect(calls["send_offsets_to_transaction"]).to eq(2)
      expect(errors.map { |e| [e[:type], e[:retry], e[:attempt]] }).to eq([["transaction.store_offset", true, 1]])
    end

    describe "refusing bad input (and aborting the transaction)" do
      def mark(consumer, msg = message, metadata = nil)
        producer.transaction { producer.transaction_mark_as_consumed(consumer, msg, metadata) }
      end

      it "refuses a consumer without #consumer_group_metadata" do
        expect { mark(Object.new) }.to raise_error(
          WaterDrop::Errors::TransactionalOffsetInvalidError,
          /consumer.*must respond to #consumer_group_metadata .* or #consumer_group_metadata_pointer/
        )
      end

      # A live pointer is served (spec/broker/foreign_group_metadata_spec.rb).
      it "refuses a consumer whose #consumer_group_metadata_pointer is NULL" do
        consumer = Object.new
        def consumer.consumer_group_metadata_pointer = 0
        expect { mark(consumer) }.to raise_error(
          WaterDrop::Errors::TransactionalOffsetInvalidError,
          '{:consumer=>"#consumer_group_metadata_pointer returned a NULL pointer"}'
        )
      end

      it "uses #consumer_group_metadata and never the pointer when both exist" do
        consumer = TxnConsumer.new("both")
        def consumer.consumer_group_metadata_pointer = raise("must never be called")
        expect { mark(consumer) }.not_to raise_error
      end

      it "refuses unusable group metadata" do
        [nil, 42, {}, { group_id: "" }, { group_id: "g", generation_id: "1" }, { group_id: "g", member_id: 1 },
         { group_id: "g", group_instance_id: "" }].each do |metadata|
          expect { mark(TxnConsumer.new(metadata)) }
            .to raise_error(WaterDrop::Errors::TransactionalOffsetInvalidError, /consumer/), metadata.inspect
        end
      end

      it "refuses a message without topic, partition and offset" do
        expect { mark(TxnConsumer.new("g"), Struct.new(:topic, :partition).new(topic, 0)) }
          .to raise_error(WaterDrop::Errors::TransactionalOffsetInvalidError, /message.*#topic, #partition and #offset/)
        expect { mark(TxnConsumer.new("g"), TxnMessage.new(topic, 0, "1")) }
          .to raise_error(WaterDrop::Errors::TransactionalOffsetInvalidError, /message/)
      end

      it "refuses offset metadata that is not a String" do
        expect { mark(TxnConsumer.new("g"), message, :meta) }
          .to raise_error(WaterDrop::Errors::TransactionalOffsetInvalidError, /offset_metadata.*must be string or nil/)
      end
    end
  end
end
