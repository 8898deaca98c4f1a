# frozen_string_literal: true

require "spec_helper"

# What karafka-testing and WaterDrop's own tests do: hand the producer a Ruby client by
# stubbing `producer.client` (or setting `@client`), often a Buffered subclass that
# overrides `#produce(message)`. Every dispatch must then reach that client.
RSpec.describe "WaterDrop::Producer with a replaced client" do
  let(:topic) { mock_topic }
  let(:seen) { [] }
  # karafka-testing's shape: built with no producer, `produce` overridden, calling super.
  let(:spec_client_class) do
    list = seen
    Class.new(WaterDrop::Clients::Buffered) do
      define_method(:produce) do |message|
        list << message[:payload]
        super(message)
      end
    end
  end
  let(:buffered) { spec_client_class.new(nil) }

  # Connected first, so the native fast path is live when the client is replaced.
  def connected_producer(**settings)
    producer = build_producer(**settings)
    producer.produce_sync(topic: topic, payload: "before")
    producer
  end

  def produce_everything(producer)
    producer.produce_sync(topic: topic, payload: "sync")
    producer.produce_async(topic: topic, payload: "async").wait
    producer.produce_many_sync([{ topic: topic, payload: "many-1" }, { topic: topic, payload: "many-2" }])
    producer.produce_many_async([{ topic: topic, payload: "many-async" }]).each(&:wait)
    producer.buffer(topic: topic, payload: "buffered")
    producer.flush_sync
  end

  let(:payloads) { %w[sync async many-1 many-2 many-async buffered] }

  it "sends every produce path to a stubbed #client, and to librdkafka again once the stub is gone" do
    producer = connected_producer
    allow(producer).to receive(:client).and_return(buffered)

    produce_everything(producer)
    expect(seen).to eq(payloads)
    expect(buffered.messages.map { |m| m[:payload] }).to eq(payloads)
    expect(producer.produce_async(topic: topic, payload: "still stubbed")).to be_a(WaterDrop::Clients::Dummy::Handle)

    RSpec::Mocks.space.proxy_for(producer).reset
    handle = producer.produce_async(topic: topic, payload: "native again")
    expect(handle).to be_a(WaterdropFd::DeliveryHandle)
    expect(handle.wait.offset).to eq(1) # "before" was 0: nothing else reached the broker
  end

  it "sends every produce path to a client set as @client (WaterDrop's ivar)" do
    producer = connected_producer
    producer.instance_variable_set(:@client, buffered)

    produce_everything(producer)
    expect(seen).to eq(payloads)
    expect(producer.client).to be(buffered)
  end

  it "runs transactions on the stubbed client: committed messages kept, aborted ones dropped" do
    producer = connected_producer(kafka: { "transactional.id": "replaced-#{SecureRandom.hex(4)}" })
    allow(producer).to receive(:client).and_return(buffered)

    producer.transaction do
      producer.produce_async(topic: topic, payload: "committed-1")
      producer.produce_sync(topic: topic, payload: "committed-2")
    end
    producer.transaction do
      producer.produce_async(topic: topic, payload: "aborted")
      raise WaterDrop::AbortTransaction
    end

    expect(buffered.messages.map { |m| m[:payload] }).to eq(%w[committed-1 committed-2])
    expect(seen).to eq(%w[committed-1 committed-2 aborted])
  end
end
