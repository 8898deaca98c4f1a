# frozen_string_literal: true

require "spec_helper"

# What a user sees when the secured connection cannot be made: `error.occurred` names the
# cause (authentication vs TLS), and `produce_sync` gives up after `max_wait_timeout` with
# that error as its `cause`, never hanging and never a bare "timed out".
RSpec.describe "Failing to connect to a secured listener" do
  let(:max_wait_timeout) { 3_000 }
  let(:events) { Queue.new }

  def failing_producer(kafka, provider: nil)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = kafka
      config.max_wait_timeout = max_wait_timeout
      config.logger = Logger.new(File::NULL)
      config.oauth.token_provider_listener = provider if provider
    end
    producer.monitor.subscribe("error.occurred") { |event| events << event }
    producer
  end

  # Runs produce_sync and returns the error it raised and how long it took.
  def attempt(producer)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    error = begin
      producer.produce_sync(topic: "sec-fail-#{SecureRandom.hex(4)}", payload: "never delivered")
      nil
    rescue WaterDrop::Errors::ProduceError => e
      e
    end
    [error, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started]
  ensure
    producer.close
  end

  def client_errors
    all = []
    all << events.pop until events.empty?
    all.select { |event| event[:type] == "librdkafka.error" }.map { |event| event[:error] }
  end

  def expect_failure(producer, code:, message:)
    error, took = attempt(producer)
    expect(error).to be_a(WaterDrop::Errors::ProduceError)
    expect(took).to be < (max_wait_timeout / 1000.0) + 2
    expect(error.cause).to be_a(WaterdropFd::RdkafkaError)
    expect(error.cause.code).to eq(code)
    expect(error.cause.message).to match(message)
    expect(client_errors).to include(an_object_having_attributes(code: code, message: match(message)))
  end

  it "reports a wrong SCRAM password as an authentication error", security: :sasl_ssl do
    producer = failing_producer(security_kafka(:sasl_ssl, "sasl.password": "not-the-password"))
    expect_failure(producer, code: :authentication,
                             message: /SASL authentication error: .*invalid credentials with SASL mechanism SCRAM-SHA-512/)
  end

  it "reports a broker certificate from another CA as a TLS handshake failure", security: :ssl do
    Dir.mktmpdir do |dir|
      producer = failing_producer(security_kafka(:ssl, "ssl.ca.location": foreign_ca(dir)))
      expect_failure(producer, code: :ssl, message: /SSL handshake failed: .*certificate verify failed/)
    end
  end

  it "reports a missing client certificate as the broker's TLS alert", security: :mtls do
    kafka = security_kafka(:mtls)
    %i[ssl.certificate.location ssl.key.location ssl.key.password].each { |key| kafka.delete(key) }
    # TLS 1.3: the client finishes its handshake before the broker checks the client's
    # certificate, so the broker's alert arrives on the first read (a transport error).
    expect_failure(failing_producer(kafka), code: :transport, message: /SSL routines::.*alert bad certificate/)
  end

  it "reports an expired client certificate as the broker's TLS alert", security: :mtls do
    Dir.mktmpdir do |dir|
      kafka = security_kafka(:mtls).merge(expired_client_certificate(dir))
      kafka.delete(:"ssl.key.password")
      # The broker's JSSE answers an expired certificate with alert 46, "certificate
      # unknown": all the client can learn.
      expect_failure(failing_producer(kafka), code: :transport, message: /SSL routines::sslv3 alert certificate unknown/)
    end
  end

  it "reports a token provider that raises as an authentication error with its reason", security: :oauthbearer do
    producer = failing_producer(security_kafka(:oauthbearer), provider: SecurityHelpers::FailingTokenProvider.new)
    expect_failure(producer, code: :authentication,
                             message: /Failed to acquire SASL OAUTHBEARER token: token provider failed: IOError: identity provider unreachable/)
  end

  it "keeps WaitTimeoutError as the cause when nothing about security failed (no broker listens)" do
    producer = failing_producer({ "bootstrap.servers": "127.0.0.1:1" })
    error, = attempt(producer)
    expect(error.cause).to be_a(WaterdropFd::WaitTimeoutError)
    expect(error.cause.message).to eq("Waiting for delivery timed out after 3000 ms")
  end

  it "reports the raising token provider itself as a callback error", security: :oauthbearer do
    producer = failing_producer(security_kafka(:oauthbearer), provider: SecurityHelpers::FailingTokenProvider.new)
    attempt(producer)
    all = []
    all << events.pop until events.empty?
    callback = all.find { |event| event[:type] == "callbacks.oauthbearer_token_refresh.error" }
    expect(callback[:error]).to be_a(IOError)
    expect(callback[:error].message).to eq("identity provider unreachable: connection refused")
  end
end
