# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require_relative "../support/fiddle_librdkafka"

# Karafka's consumer runs on karafka-rdkafka's librdkafka and offers only
# `consumer_group_metadata_pointer`. Here a group consumer of ANOTHER librdkafka (Debian's,
# through Fiddle) plays that part against real Kafka: its metadata is serialized by its own
# library and read by this gem's, and the offsets it commits through this gem's transaction
# are what the group's committed() answers and what a read_committed reader goes by.
# Each scenario runs in a child process with a time bound (foreign pointers: a mistake
# would crash, not fail).
RSpec.describe "transaction_mark_as_consumed with a consumer of another librdkafka", broker: true do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let!(:suffix) { SecureRandom.hex(6) }
  let(:input) { "it-foreign-in-#{suffix}" }
  let(:output) { "it-foreign-out-#{suffix}" }
  let(:group) { "it-foreign-group-#{suffix}" }

  # Runs the block in a child (bounded by `timeout` seconds) and returns what it returned,
  # through JSON.
  def in_child(timeout: 120)
    reader, writer = IO.pipe
    pid = fork_child do
      reader.close
      writer.write(JSON.generate(yield))
      writer.close
      true
    end
    writer.close
    status = wait_children([pid], timeout: timeout)
    result = reader.read
    reader.close
    expect(status.values).to eq([0]), "child failed (see stderr)"
    JSON.parse(result)
  end

  def kcat(*args)
    out, err, status = Open3.capture3("kcat", "-b", servers, *args)
    raise "kcat #{args.join(" ")} failed: #{err}" unless status.success?

    out.lines.map(&:chomp)
  end

  it "commits the live member's offsets in the transaction: committed() and read_committed agree" do
    result = in_child do
      seed = WaterDrop::Producer.new { |c| c.kafka = { "bootstrap.servers": servers } }
      3.times { |i| seed.produce_sync(topic: input, payload: "in-#{i}", partition: 0) }
      seed.close

      lib = FiddleLibrdkafka.new
      consumer = lib.client(:consumer, "bootstrap.servers": servers, "group.id": group,
                                       "enable.auto.commit": "false", "auto.offset.reset": "earliest")
      consumer.subscribe(input)
      messages = consumer.poll_messages(3)

      producer = WaterDrop::Producer.new do |c|
        c.kafka = { "bootstrap.servers": servers, "transactional.id": "it-foreign-#{suffix}" }
      end
      producer.transaction do
        producer.produce_async(topic: output, payload: "from-#{messages[1].payload}")
        producer.transaction_mark_as_consumed(consumer, messages[1], "checkpoint")
      end
      after_commit = consumer.committed([[input, 0]])
      producer.transaction do
        producer.produce_async(topic: output, payload: "aborted")
        producer.transaction_mark_as_consumed(consumer, messages[2])
        raise WaterDrop::AbortTransaction
      end
      after_abort = consumer.committed([[input, 0]])

      pointer = consumer.consumer_group_metadata_pointer
      metadata = WaterdropFd::ForeignGroupMetadata.read(pointer)
      WaterdropFd::ForeignGroupMetadata.destroy(pointer)
      producer.close
      consumer.close
      {
        "library" => lib.version, "ours" => WaterdropFd::Native.librdkafka_version,
        "messages" => messages.map { |m| [m.topic, m.partition, m.offset, m.payload] },
        "after_commit" => after_commit, "after_abort" => after_abort, "metadata" => metadata
      }
    end

    # The system's librdkafka (Debian's: 2.0 on bookworm, 2.8 on trixie), not ours.
    expect(result["library"]).to match(/\A\d+\.\d+\.\d+\z/)
    expect(result["ours"]).not_to eq(result["library"])
    expect(result["messages"]).to eq([[input, 0, 0, "in-0"], [input, 0, 1, "in-1"], [input, 0, 2, "in-2"]])
    # message.offset + 1, committed with the transaction; the aborted one changed nothing.
    expect(result["after_commit"]).to eq([2])
    expect(result["after_abort"]).to eq([2])
    # The live member's metadata, as its own librdkafka holds it, read by this gem's.
    group_id, generation, member_id, instance_id = result["metadata"]
    expect([group_id, instance_id]).to eq([group, nil])
    expect(generation).to be >= 1
    expect(member_id).to start_with("rdkafka-")

    expect(kcat("-X", "isolation.level=read_committed", "-C", "-t", output, "-o", "beginning", "-e", "-q",
                "-f", "%s\n")).to eq(["from-in-1"])
    # A new member of the group resumes after the committed offset.
    expect(kcat("-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o:%s\n", input))
      .to eq(["2:in-2"])
  end

  it "refuses bytes this gem's librdkafka cannot read with RdkafkaError :bad_msg" do
    expect { WaterdropFd::Native.consumer_group_metadata_read("not group metadata") }.to raise_error(
      WaterdropFd::RdkafkaError,
      "Input buffer is not a serialized consumer group metadata object (bad_msg)"
    ) { |e| expect(e.code).to eq(:bad_msg) }
  end
end
