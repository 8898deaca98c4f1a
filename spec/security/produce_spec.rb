# frozen_string_literal: true

require "spec_helper"

# Producing over bin/kafka's secured listeners (KAFKA_SECURITY=ssl,mtls,sasl_ssl,oauthbearer)
# and reading back over the same listener with kcat: what a user on TLS, mutual TLS,
# SASL/SCRAM or OAUTHBEARER checks first.
RSpec.describe "Producing over a secured listener" do
  let(:token_provider) { SecurityHelpers::TokenProvider.new }

  def secured_producer(mode, **kafka)
    provider = token_provider
    WaterDrop::Producer.new do |config|
      config.kafka = security_kafka(mode, "request.required.acks": "all", **kafka)
      config.max_wait_timeout = 60_000
      config.oauth.token_provider_listener = provider if mode == :oauthbearer
    end
  end

  SecurityHelpers::MODES.each do |mode|
    context "with #{mode}", security: mode do
      it "delivers 1,000 messages with produce_many_sync and 100 with produce_sync, read back in order" do
        topic = "sec-#{mode}-#{SecureRandom.hex(4)}"
        producer = secured_producer(mode)
        begin
          batch = Array.new(1_000) { |i| { topic: topic, payload: "many-#{i}" } }
          handles = producer.produce_many_sync(batch)
          expect(handles.map { |h| h.wait.offset }).to eq((0...1_000).to_a)

          offsets = Array.new(100) { |i| producer.produce_sync(topic: topic, payload: "sync-#{i}").offset }
          expect(offsets).to eq((1_000...1_100).to_a)
        ensure
          producer.close
        end

        expected = Array.new(1_000) { |i| "#{i}:many-#{i}" } + Array.new(100) { |i| "#{1_000 + i}:sync-#{i}" }
        expect(kcat_read_secured(mode, topic)).to eq(expected)
        expect(token_provider.count).to be >= 1 if mode == :oauthbearer
      end
    end
  end

  context "with sasl_ssl", security: :sasl_ssl do
    it "commits a transaction that a read_committed consumer sees" do
      topic = "sec-tx-#{SecureRandom.hex(4)}"
      producer = secured_producer(:sasl_ssl, "transactional.id": "sec-tx-#{SecureRandom.hex(6)}")
      begin
        producer.transaction do
          10.times { |i| producer.produce_async(topic: topic, payload: "tx-#{i}") }
        end
      ensure
        producer.close
      end

      committed = kcat_read_secured(:sasl_ssl, topic, extra: ["-X", "isolation.level=read_committed"])
      expect(committed).to eq(Array.new(10) { |i| "#{i}:tx-#{i}" })
    end
  end

  context "with oauthbearer", security: :oauthbearer do
    # Tokens live 8 s and the broker ends a session when its token expires (bin/kafka sets
    # connections.max.reauth.ms on the listener), so delivering for 20 s needs librdkafka
    # to ask the listener for new tokens and authenticate with them again.
    #
    # Found here: librdkafka 2.12's in-place re-authentication (KIP-368) is refused by
    # Kafka 4.4 ("SASL OAUTHBEARER mechanism handshake failed: Broker: Request not valid in
    # current SASL state"); librdkafka then reconnects and authenticates with the new token,
    # and no message is lost or delayed past its timeout. Those refusals are the only errors
    # allowed below.
    let(:token_provider) { SecurityHelpers::TokenProvider.new(lifetime_s: 8) }

    it "keeps delivering while the token provider refreshes expiring tokens", timeout: 120 do
      topic = "sec-oauth-refresh-#{SecureRandom.hex(4)}"
      producer = secured_producer(:oauthbearer)
      refreshes = []
      producer.monitor.subscribe("oauthbearer.token_refresh") { |_event| refreshes << Time.now }
      errors = []
      producer.monitor.subscribe("error.occurred") { |event| errors << event[:error] }
      sent = 0
      begin
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
        while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
          producer.produce_sync(topic: topic, payload: "r-#{sent}")
          sent += 1
          sleep 0.05
        end
      ensure
        producer.close
      end

      expect(token_provider.count).to be >= 3
      expect(refreshes.size).to eq(token_provider.count)
      reauth_refusal = /SASL OAUTHBEARER mechanism handshake failed: Broker: Request not valid in current SASL state/
      expect(errors.reject { |e| e.code == :authentication && e.message.match?(reauth_refusal) }).to eq([])
      expect(kcat_read_secured(:oauthbearer, topic)).to eq(Array.new(sent) { |i| "#{i}:r-#{i}" })
    end
  end
end
