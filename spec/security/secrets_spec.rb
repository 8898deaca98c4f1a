# frozen_string_literal: true

require "spec_helper"
require "pp"
require "stringio"

# Secrets never leak: everything a producer prints or raises during secured runs (the
# config's and producer's inspect, `config.to_h`, LoggerListener lines, librdkafka's own
# log lines with security debugging on, statistics, errors and their causes) is searched
# for the passwords, the private key, the OAuth client secret and the tokens.
RSpec.describe "Secrets of a secured producer", security: :all do
  let(:captured) { StringIO.new }
  let(:logger) { Logger.new(captured, level: Logger::DEBUG) }
  let(:wrong_password) { "wrong-#{SecureRandom.hex(12)}" }
  let(:oauth_client_secret) { "oauth-client-secret-#{SecureRandom.hex(12)}" }
  let(:token_provider) { SecurityHelpers::TokenProvider.new }
  let(:client_key_pem) { File.read(security_settings(:mtls).fetch("ssl.key.location")) }

  # Produces a few messages (or tries to) and records every printed or raised text.
  def run_and_capture(kafka, provider: nil, expect_failure: false)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = kafka.merge("statistics.interval.ms": 100, debug: "security,broker,conf,generic")
      config.logger = logger
      config.max_wait_timeout = expect_failure ? 2_000 : 30_000
      config.oauth.token_provider_listener = provider if provider
    end
    producer.monitor.subscribe(WaterDrop::Instrumentation::LoggerListener.new(logger))
    producer.monitor.subscribe("statistics.emitted") { |event| captured.puts(JSON.generate(event[:statistics])) }
    producer.monitor.subscribe("error.occurred") { |event| record_error(event[:error]) }
    print_everything(producer)
    begin
      5.times { |i| producer.produce_sync(topic: "sec-secrets-#{SecureRandom.hex(3)}", payload: "p#{i}") }
      producer.produce_many_sync(Array.new(5) { |i| { topic: "sec-secrets", payload: "m#{i}" } })
      sleep 0.3 # a few statistics intervals, so statistics.emitted carries broker state
    rescue WaterDrop::Errors::ProduceError => e
      raise unless expect_failure

      record_error(e)
    end
    print_everything(producer)
  ensure
    producer&.close
  end

  def record_error(error)
    while error
      captured.puts(error.message, error.inspect, error.full_message(highlight: false))
      error = error.cause
    end
  end

  def print_everything(producer)
    # `config.to_h` also holds the user's own objects (the token provider listener); what
    # this gem owns in it is the librdkafka settings.
    kafka = producer.config.to_h[:kafka]
    captured.puts(producer.inspect, producer.config.inspect, producer.config.kafka.inspect,
                  producer.config.kafka.to_s, kafka.inspect, producer.client.inspect)
    PP.pp(kafka, captured)
  end

  def secrets
    pem_lines = client_key_pem.lines.map(&:strip).reject { |line| line.start_with?("-----") || line.size < 20 }
    [
      security_settings(:sasl_ssl).fetch("sasl.password"), wrong_password,
      security_settings(:mtls).fetch("ssl.key.password"), oauth_client_secret,
      *pem_lines, *token_provider.tokens
    ]
  end

  it "appear nowhere in what the producer printed or raised" do
    run_and_capture(security_kafka(:sasl_ssl))
    run_and_capture(security_kafka(:sasl_ssl, "sasl.password": wrong_password), expect_failure: true)
    mtls = security_kafka(:mtls, "ssl.key.pem": client_key_pem)
    mtls.delete(:"ssl.key.location")
    run_and_capture(mtls)
    run_and_capture(security_kafka(:oauthbearer, "sasl.oauthbearer.client.secret": oauth_client_secret),
                    provider: token_provider)

    text = captured.string
    leaked = secrets.select { |secret| text.include?(secret) }
    where = leaked.map { |secret| text[[text.index(secret) - 200, 0].max, 200] }
    expect(leaked.size).to eq(0), "#{leaked.size} of #{secrets.size} secrets found, after: #{where.inspect}"
    # The runs did print: librdkafka's security debugging, the listener, statistics, the
    # wrong password's error and the filtered settings.
    expect(text).to include("rdkafka: [", "Sync producing of a message", "\"txmsgs\"", "SASL authentication error")
    expect(text).to match(/sasl\.password"?(=>|: )"\[FILTERED\]"/)
    expect(token_provider.tokens).not_to be_empty
  end
end
