# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterdropFd::OauthBearer do
  subject(:bearer) { described_class.new(native) }

  # Records the calls a bearer makes on the native producer; can refuse them like librdkafka.
  let(:native_class) do
    Class.new do
      attr_reader :calls
      attr_accessor :refuse_token, :refuse_failure

      def initialize = @calls = []
      def name = "waterdrop#producer-7"

      def oauthbearer_set_token(*args)
        @calls << [:set_token, *args]
        raise refuse_token if refuse_token
      end

      def oauthbearer_set_token_failure(reason)
        @calls << [:failure, reason]
        raise refuse_failure if refuse_failure
      end
    end
  end
  let(:native) { native_class.new }

  it "is named after the librdkafka client" do
    expect(bearer.name).to eq("waterdrop#producer-7")
  end

  it "hands the token to librdkafka with extensions as String pairs and returns 0" do
    result = bearer.oauthbearer_set_token(
      token: "jwt", lifetime_ms: 1_900_000_000_000, principal_name: "svc", extensions: { traceId: 5 }
    )
    expect(result).to eq(0)
    expect(native.calls).to eq([[:set_token, "jwt", 1_900_000_000_000, "svc", [%w[traceId 5]]]])
  end

  it "passes no extensions as an empty list" do
    bearer.oauthbearer_set_token(token: "jwt", lifetime_ms: 1, principal_name: "svc")
    expect(native.calls.last.last).to eq([])
  end

  it "requires the keyword arguments of rdkafka-ruby's bearer" do
    expect { bearer.oauthbearer_set_token(token: "jwt", lifetime_ms: 1) }
      .to raise_error(ArgumentError, /missing keyword: :principal_name/)
  end

  it "reports a refused token as a token failure and returns librdkafka's code" do
    native.refuse_token = WaterdropFd::RdkafkaError.new(-186, "Must supply an unexpired token")
    result = bearer.oauthbearer_set_token(token: "old", lifetime_ms: 1, principal_name: "svc")
    expect(result).to eq(-186)
    expect(native.calls.last).to eq([:failure, "Failed to set token: Must supply an unexpired token (invalid_arg)"])
  end

  it "reports a token failure and returns 0, or librdkafka's code when refused" do
    expect(bearer.oauthbearer_set_token_failure("idp down")).to eq(0)
    expect(native.calls).to eq([[:failure, "idp down"]])
    native.refuse_failure = WaterdropFd::RdkafkaError.new(-172)
    expect(bearer.oauthbearer_set_token_failure("idp down")).to eq(-172)
  end

  it "lets a closed client's error through" do
    native.refuse_token = WaterdropFd::ClosedProducerError.new("closed")
    expect { bearer.oauthbearer_set_token(token: "t", lifetime_ms: 1, principal_name: "p") }
      .to raise_error(WaterdropFd::ClosedProducerError, "closed")
  end
end
