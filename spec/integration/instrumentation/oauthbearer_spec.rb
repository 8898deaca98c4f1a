# frozen_string_literal: true

require "spec_helper"

# SASL/OAUTHBEARER token refresh. librdkafka's mock cluster has no SASL (its brokers refuse
# the SaslHandshake), so what is asserted here is the client side: the refresh events, their
# payload, and what librdkafka says to the tokens and failures it is given. Authenticating
# against a real broker is not covered.
RSpec.describe "oauthbearer.token_refresh" do
  let(:sasl) { { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER" } }
  let(:refreshes) { Queue.new }
  let(:errors) { Queue.new }
  let(:token_listener) do
    queue = refreshes
    Class.new do
      define_method(:on_oauthbearer_token_refresh) { |event| queue << [Process.clock_gettime(Process::CLOCK_MONOTONIC), event] }
    end.new
  end

  def oauth_producer(kafka: sasl, listener: token_listener)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": mock_cluster.bootstrap_servers }.merge(kafka)
      config.oauth.token_provider_listener = listener
    end
    (@producers_to_close ||= []) << producer
    errors_queue = errors
    producer.monitor.subscribe("error.occurred") { |event| errors_queue << event }
    producer
  end

  def pop(queue, timeout: 10) = Timeout.timeout(timeout) { queue.pop }

  def now_ms = (Time.now.to_f * 1000).to_i

  # librdkafka.error events whose message matches `pattern`.
  def wait_for_error(pattern, timeout: 10)
    Timeout.timeout(timeout) do
      loop do
        event = errors.pop
        return event if event[:type] == "librdkafka.error" && event[:error].message.match?(pattern)
      end
    end
  end

  def native_oauth_flags
    flags = []
    allow(WaterdropFd::Native::Producer).to receive(:new).and_wrap_original do |original, pairs, dispatcher, flag|
      flags << flag
      original.call(pairs, dispatcher, flag)
    end
    flags
  end

  it "fires right after connect, with bearer and caller, for the configured token provider" do
    producer = oauth_producer
    connected_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    producer.native_client
    at, event = pop(refreshes)
    expect(at - connected_at).to be < 1 # served as soon as the poller registers the producer
    expect(event.payload.keys).to contain_exactly(:bearer, :caller)
    expect(event[:bearer]).to be_a(WaterdropFd::OauthBearer)
    expect(event[:bearer].name).to eq(producer.native_client.name)
    expect(event[:caller]).to be_a(WaterdropFd::Dispatcher)
    expect { event[:producer_id] }.to raise_error(KeyError)
  end

  it "builds the client with token refresh events for sasl.mechanisms or sasl.mechanism OAUTHBEARER only" do
    flags = native_oauth_flags
    oauth_producer.native_client
    oauth_producer(kafka: { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER" }).native_client
    build_producer.native_client
    plain = { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": "u", "sasl.password": "p" }
    build_producer(kafka: plain).native_client
    expect(flags).to eq([true, true, false, false])
  end

  it "accepts a valid token (0) and asks again, without traffic, as the token nears its expiry" do
    producer = oauth_producer
    producer.native_client
    first_at, event = pop(refreshes)
    result = event[:bearer].oauthbearer_set_token(
      token: "header.payload.signature", lifetime_ms: now_ms + 2_000, principal_name: "spec-user",
      extensions: { "traceId" => "abc" }
    )
    expect(result).to eq(0)
    # librdkafka refreshes at 80 % of the lifetime, checking once a second.
    second_at, second = pop(refreshes, timeout: 6)
    expect(second_at - first_at).to be_between(1.0, 4.0)
    expect(second[:bearer]).to equal(event[:bearer])
  end

  it "returns librdkafka's code for a refused token and reports it as a token failure" do
    producer = oauth_producer
    producer.native_client
    _, event = pop(refreshes)
    result = event[:bearer].oauthbearer_set_token(token: "t", lifetime_ms: now_ms - 1_000, principal_name: "u")
    expect(result).to eq(-186)
    error_event = wait_for_error(/Failed to acquire SASL OAUTHBEARER token: Failed to set token: Must supply an unexpired token/)
    expect(error_event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
    expect(error_event[:producer_id]).to eq(producer.id)
    expect(error_event[:error]).to be_a(WaterdropFd::RdkafkaError).and(have_attributes(code: :authentication))
  end

  it "passes a token failure to librdkafka, which reports it as librdkafka.error" do
    producer = oauth_producer
    producer.native_client
    _, event = pop(refreshes)
    expect(event[:bearer].oauthbearer_set_token_failure("identity provider unreachable")).to eq(0)
    error_event = wait_for_error(/identity provider unreachable/)
    expect(error_event[:error].message)
      .to eq("Failed to acquire SASL OAUTHBEARER token: identity provider unreachable (authentication)")
  end

  it "subscribes the token provider once, even across reconnects" do
    producer = oauth_producer
    producer.native_client
    pop(refreshes)
    expect(producer.monitor.listeners["oauthbearer.token_refresh"]).to eq([token_listener])
    expect(producer.disconnect).to be(true)
    producer.native_client
    pop(refreshes)
    expect(producer.monitor.listeners["oauthbearer.token_refresh"]).to eq([token_listener])
  end

  it "reports a raising token provider as callbacks.oauthbearer_token_refresh.error" do
    failing = Class.new do
      def on_oauthbearer_token_refresh(_event) = raise(IOError, "token endpoint down")
    end.new
    producer = oauth_producer(listener: failing)
    producer.native_client
    event = Timeout.timeout(10) do
      loop do
        e = errors.pop
        break e if e[:type] == "callbacks.oauthbearer_token_refresh.error"
      end
    end
    expect(event.payload.keys).to contain_exactly(:caller, :producer_id, :error, :type)
    expect(event[:error]).to be_a(IOError).and(have_attributes(message: "token endpoint down"))
    expect(event[:producer_id]).to eq(producer.id)
  end

  it "answers -172 (wrong state) on a client that does not use OAUTHBEARER" do
    producer = build_producer
    bearer = WaterdropFd::OauthBearer.new(producer.native_client)
    expect(bearer.oauthbearer_set_token_failure("x")).to eq(-172)
    expect(bearer.oauthbearer_set_token(token: "t", lifetime_ms: now_ms + 60_000, principal_name: "u")).to eq(-172)
  end
end
