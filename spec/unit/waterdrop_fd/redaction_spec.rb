# frozen_string_literal: true

require "spec_helper"
require "pp"

RSpec.describe WaterdropFd::Redaction do
  let(:secrets) do
    {
      "sasl.password": "scram-pass-1", "ssl.key.password": "key-pass-2", "ssl.key.pem": "-----BEGIN KEY-----abc",
      "ssl.keystore.password": "store-pass-3", "sasl.oauthbearer.client.secret": "client-secret-4",
      "sasl.oauthbearer.config": "principal=svc extension_token=tok-5",
      "sasl.oauthbearer.assertion.private.key.passphrase": "pass-6"
    }
  end
  let(:config) do
    WaterDrop::Config.new.setup { |c| c.kafka = { "bootstrap.servers": "127.0.0.1:9092", **secrets } }
  end

  it "keeps the values librdkafka gets" do
    expect(config.kafka).to include(secrets)
    expect(config.kafka).to be_a(Hash)
  end

  it "filters every secret from config.inspect, config.kafka.inspect/to_s, to_h and pp" do
    printed = [
      config.inspect, config.kafka.inspect, config.kafka.to_s, config.to_h.inspect, config.to_h[:kafka].inspect,
      PP.pp(config.kafka, +"")
    ]
    printed.each do |text|
      secrets.each_value { |secret| expect(text).not_to include(secret) }
      expect(text).to include("127.0.0.1:9092", "[FILTERED]")
    end
  end

  it "keeps filtering after config.kafka is replaced" do
    config.kafka = { "sasl.password": "replaced-7" }
    expect(config.inspect).not_to include("replaced-7")
  end

  it "prints a config's objects by class, not their contents" do
    listener = Struct.new(:token).new("cached-token-8")
    config.oauth.token_provider_listener = listener
    expect(config.inspect).not_to include("cached-token-8")
    expect(config.inspect).to include("token_provider_listener=#<")
  end

  it "names only secret-holding settings as sensitive" do
    expect(secrets.keys).to all(satisfy { |key| described_class.sensitive?(key) })
    %i[bootstrap.servers ssl.ca.location sasl.username security.protocol].each do |key|
      expect(described_class.sensitive?(key)).to be(false)
    end
  end
end
