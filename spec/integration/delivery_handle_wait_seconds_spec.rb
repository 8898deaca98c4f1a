# frozen_string_literal: true

require "spec_helper"

# rdkafka-ruby's deprecated `wait(max_wait_timeout:)`, in seconds.
RSpec.describe "DeliveryHandle#wait(max_wait_timeout:)" do
  let(:topic) { mock_topic }

  def stderr_of
    original = $stderr
    $stderr = StringIO.new
    yield
    $stderr.string
  ensure
    $stderr = original
  end

  it "waits that many seconds for the report and warns that the form is deprecated" do
    producer = build_producer
    handle = producer.produce_async(topic: topic, payload: "seconds")
    report = nil
    warning = stderr_of { report = handle.wait(max_wait_timeout: 5) }

    expect(report.topic_name).to eq(topic)
    expect(report.error).to be_nil
    expect(warning).to eq(
      "#{__FILE__}:#{__LINE__ - 5}: warning: DeliveryHandle#wait(max_wait_timeout:) takes seconds and is " \
      "deprecated (as in rdkafka-ruby): use max_wait_timeout_ms: (milliseconds)\n"
    )
  end

  it "times out after the given seconds, in ms in the error" do
    producer = build_producer(kafka: { "message.timeout.ms": 5_000 })
    mock_cluster.broker_down(1)
    mock_cluster.broker_down(2)
    mock_cluster.broker_down(3)
    handle = producer.produce_async(topic: topic, payload: "never delivered in time")
    expect { stderr_of { handle.wait(max_wait_timeout: 0.05) } }.to raise_error(
      WaterdropFd::WaitTimeoutError, "Waiting for delivery timed out after 50 ms"
    )
  ensure
    [1, 2, 3].each { |id| mock_cluster.broker_up(id) }
  end

  it "refuses both limits at once" do
    handle = build_producer.produce_async(topic: topic, payload: "x")
    expect { handle.wait(max_wait_timeout_ms: 1_000, max_wait_timeout: 1) }.to raise_error(
      ArgumentError, "give max_wait_timeout_ms: or the deprecated max_wait_timeout:, not both"
    )
  end

  it "is accepted (with the warning) by a dummy client's handles" do
    handle = build_producer(deliver: false).produce_async(topic: topic, payload: "x")
    warning = stderr_of { expect(handle.wait(max_wait_timeout: 1).offset).to eq(0) }
    expect(warning).to include("DeliveryHandle#wait(max_wait_timeout:) takes seconds and is deprecated")
  end
end
