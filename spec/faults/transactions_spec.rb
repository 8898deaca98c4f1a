# frozen_string_literal: true

require "spec_helper"

# K-scenarios on the mock cluster: transactions while the coordinator is lost and while
# EndTxn / AddPartitionsToTxn fail with retriable, abortable and fatal errors. Each case reads
# the topic back and checks that what was committed is there exactly once and that what was
# given up was never written. (The mock cluster does not enforce read_committed, so the
# visibility of *written-then-aborted* records is checked against the real broker, in
# spec/broker/transactions_faults_spec.rb.)
# Kafka API keys and error codes the cases inject.
module TxnFaultCodes
  ADD_PARTITIONS_TO_TXN = 24
  END_TXN = 26
  COORDINATOR_LOAD_IN_PROGRESS = 14
  COORDINATOR_NOT_AVAILABLE = 15
  NOT_COORDINATOR = 16
  TOPIC_AUTHORIZATION_FAILED = 29
  CONCURRENT_TRANSACTIONS = 51
  INVALID_TXN_STATE = 48
end

RSpec.describe "Transactions under faults", timeout: 300 do
  let(:topic) { mock_topic(partitions: 3) }
  let(:quiet) { Logger.new(File::NULL) }

  after do
    mock_cluster.clear_request_errors(TxnFaultCodes::ADD_PARTITIONS_TO_TXN)
    mock_cluster.clear_request_errors(TxnFaultCodes::END_TXN)
  end

  def txn_producer(**settings)
    build_producer(kafka: { "transactional.id": "faults-txn-#{SecureRandom.hex(6)}", **FaultsHelpers::FAST_FAIL },
                   logger: quiet, wait_backoff_on_transaction_command: 50, **settings)
  end

  def batch(prefix, count) = Array.new(count) { |i| { topic: topic, payload: "#{prefix}-#{i}" } }

  def read_back = kcat_read(topic, "%s")

  def expect_exactly_once(read, expected)
    expect(read.tally.values.uniq).to eq([1])
    expect(read.sort).to eq(expected.sort)
  end

  it "commits once through retriable EndTxn errors" do
    producer = txn_producer
    producer.transaction { producer.produce_sync(topic: topic, payload: "warm") }
    mock_cluster.push_request_errors(TxnFaultCodes::END_TXN, TxnFaultCodes::COORDINATOR_LOAD_IN_PROGRESS, TxnFaultCodes::NOT_COORDINATOR, TxnFaultCodes::COORDINATOR_NOT_AVAILABLE)
    started = now_s
    producer.transaction { producer.produce_many_async(batch("endtxn", 300)) }
    took = now_s - started
    read = read_back
    puts "[txn/endtxn-retriable] sent=300 read_back=#{read.size - 1} committed_in=#{took.round(2)}s"
    expect_exactly_once(read, ["warm"] + batch("endtxn", 300).map { |m| m[:payload] })
  end

  it "commits once through retriable AddPartitionsToTxn errors" do
    producer = txn_producer
    producer.transaction { producer.produce_sync(topic: topic, payload: "warm", partition: 0) }
    mock_cluster.push_request_errors(TxnFaultCodes::ADD_PARTITIONS_TO_TXN, TxnFaultCodes::CONCURRENT_TRANSACTIONS, TxnFaultCodes::CONCURRENT_TRANSACTIONS,
                                     TxnFaultCodes::COORDINATOR_NOT_AVAILABLE)
    started = now_s
    producer.transaction { producer.produce_many_sync(batch("addparts", 300)) }
    took = now_s - started
    read = read_back
    puts "[txn/addpartitions-retriable] sent=300 read_back=#{read.size - 1} committed_in=#{took.round(2)}s"
    expect_exactly_once(read, ["warm"] + batch("addparts", 300).map { |m| m[:payload] })
  end

  it "aborts on an abortable AddPartitionsToTxn error, writes nothing of it, and commits the next one" do
    producer = txn_producer
    producer.transaction { producer.produce_sync(topic: topic, payload: "before", partition: 0) }
    # Fresh partitions for the next transaction, so it has to add them.
    mock_cluster.push_request_errors(TxnFaultCodes::ADD_PARTITIONS_TO_TXN, TxnFaultCodes::TOPIC_AUTHORIZATION_FAILED)
    error = nil
    begin
      producer.transaction do
        producer.produce_sync(topic: topic, payload: "refused", partition: 1)
      end
    rescue StandardError => e
      error = e
    end
    producer.transaction { producer.produce_sync(topic: topic, payload: "after", partition: 2) }
    read = read_back
    puts "[txn/addpartitions-abortable] raised=#{error.class} cause=#{error&.cause&.code} read_back=#{read.sort}"
    # Once AddPartitionsToTxn fails, the transaction can only abort: librdkafka fails its
    # queued message as purged (the broker's reason is kept inside librdkafka's transaction
    # state, which only a commit would return; the block aborts instead).
    expect(error).to be_a(WaterDrop::Errors::ProduceError)
    expect(error.cause).to be_a(WaterdropFd::RdkafkaError)
    expect(error.cause.code).to eq(:purge_queue)
    expect(producer.transaction?).to be(false)
    expect_exactly_once(read, %w[before after])
  end

  it "reloads after a fatal EndTxn error and commits the retried batch once" do
    producer = txn_producer
    reloads = Queue.new
    producer.monitor.subscribe("producer.reloaded") { |e| reloads << e[:attempt] }
    producer.transaction { producer.produce_sync(topic: topic, payload: "warm") }
    mock_cluster.push_request_errors(TxnFaultCodes::END_TXN, TxnFaultCodes::INVALID_TXN_STATE)
    failed = nil
    begin
      producer.transaction { producer.produce_many_async(batch("fatal", 100)) }
    rescue StandardError => e
      failed = e
    end
    # The application retries the unit of work (as a consumer would re-process its batch).
    producer.transaction { producer.produce_many_async(batch("fatal", 100)) } if failed
    read = read_back
    puts "[txn/endtxn-fatal] first_attempt=#{failed ? "raised #{failed.class}: #{failed.message}" : 'committed'} " \
         "reloads=#{reloads.size} read_back=#{read.size - 1}"
    expect(failed).to be_a(WaterdropFd::RdkafkaError)
    expect(failed.code).to eq(:invalid_txn_state)
    expect(failed.message).to include("Failed to end transaction")
    expect(reloads.size).to eq(1)
    # The fatal EndTxn left the first attempt's records unacknowledged by a commit; the
    # mock cluster keeps what the broker wrote, so every payload is there at least once and
    # the retried batch is complete.
    expect(read.count("warm")).to eq(1)
    expect(read.uniq.sort).to eq((["warm"] + batch("fatal", 100).map { |m| m[:payload] }).sort)
  end

  it "rides out a lost coordinator: every broker down mid-transaction, then back; commits once" do
    producer = txn_producer(max_wait_timeout: 60_000)
    producer.transaction { producer.produce_sync(topic: topic, payload: "warm") }
    started = now_s
    outage = nil
    producer.transaction do
      producer.produce_many_async(batch("outage", 200))
      all_brokers_down
      outage = Thread.new do
        sleep 1.5 # the outage itself, not an assertion
        all_brokers_up
      end
      producer.produce_many_async(batch("during", 200))
    end
    outage.join
    took = now_s - started
    read = read_back
    puts "[txn/coordinator-loss] sent=400 read_back=#{read.size - 1} outage=1.5s committed_in=#{took.round(2)}s"
    expect_exactly_once(read, ["warm"] + (batch("outage", 200) + batch("during", 200)).map { |m| m[:payload] })
  end
end
