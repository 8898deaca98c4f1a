# frozen_string_literal: true

module WaterdropFd
  # What `oauthbearer.token_refresh` gives as `event[:bearer]`: the producer's librdkafka
  # client, seen through the two calls a token provider needs (the same calls as
  # rdkafka-ruby's producer, so WaterDrop token listeners work unchanged). Answer every
  # refresh with exactly one of them.
  #
  # @example
  #   class TokenProvider
  #     def on_oauthbearer_token_refresh(event)
  #       token = fetch_token # your identity provider
  #       event[:bearer].oauthbearer_set_token(
  #         token: token.value, lifetime_ms: token.expires_at_ms, principal_name: "svc"
  #       )
  #     rescue StandardError => e
  #       event[:bearer].oauthbearer_set_token_failure(e.message)
  #     end
  #   end
  class OauthBearer
    # @return [String] librdkafka's name of the client (`client.id#producer-N`)
    attr_reader :name

    # @param native [WaterdropFd::Native::Producer]
    def initialize(native)
      @native = native
      @name = native.name
    end

    # Hands a token to librdkafka. When librdkafka refuses it (expired, malformed
    # extensions), the refusal is also reported with {#oauthbearer_set_token_failure}, so
    # librdkafka asks again later.
    #
    # @param token [String] the token (often a JWS compact serialization)
    # @param lifetime_ms [Integer] when the token expires, in ms since the epoch
    # @param principal_name [String] the Kafka principal the token belongs to
    # @param extensions [Hash{String, Symbol => String}, nil] SASL extensions (RFC 7628)
    # @return [Integer] 0 on success, else librdkafka's error code (e.g. -186, invalid argument)
    # @raise [WaterdropFd::ClosedProducerError] when the client is closed
    def oauthbearer_set_token(token:, lifetime_ms:, principal_name:, extensions: nil)
      pairs = (extensions || {}).map { |key, value| [key.to_s, value.to_s] }
      @native.oauthbearer_set_token(token.to_s, Integer(lifetime_ms), principal_name.to_s, pairs)
      0
    rescue RdkafkaError => e
      oauthbearer_set_token_failure("Failed to set token: #{e.message}")
      e.rdkafka_response
    end

    # Tells librdkafka that no token could be obtained; it reports the failure as an error
    # and asks again later.
    #
    # @param reason [String] why no token is available
    # @return [Integer] 0 on success, else librdkafka's error code (e.g. -186 when the client
    #   does not use SASL/OAUTHBEARER)
    # @raise [WaterdropFd::ClosedProducerError] when the client is closed
    def oauthbearer_set_token_failure(reason)
      @native.oauthbearer_set_token_failure(reason.to_s)
      0
    rescue RdkafkaError => e
      e.rdkafka_response
    end

    # @return [String]
    def inspect = "#<#{self.class.name} name=#{@name.inspect}>"
  end
end
