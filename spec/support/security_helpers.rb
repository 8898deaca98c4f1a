# frozen_string_literal: true

require "base64"
require "json"
require "open3"
require "securerandom"
require "tmpdir"

# Helpers for the specs against `bin/kafka`'s secured listeners (spec/security). A broker
# started with `KAFKA_SECURITY=ssl,mtls,sasl_ssl,oauthbearer` prints (and `bin/kafka env`
# exports) `KAFKA_CLIENT_CONFIG_<MODE>=<file>`: a file of librdkafka key=value settings,
# bootstrap.servers included, that kcat -F reads too. A spec tagged `security: :mode`
# runs only when that mode's file is given (CI gives all four).
module SecurityHelpers
  MODES = %i[ssl mtls sasl_ssl oauthbearer].freeze
  # Settings bin/kafka writes for kcat's own unsecured JWT; a producer with a token
  # provider listener hands out its own tokens instead.
  KCAT_ONLY_OAUTH_KEYS = %w[enable.sasl.oauthbearer.unsecure.jwt sasl.oauthbearer.config].freeze
  # The principal bin/kafka's SCRAM user and tokens use.
  PRINCIPAL = "waterdrop-client"

  module_function

  # @return [String, nil] the client config file of `mode`, when the broker runs it
  def security_config_file(mode)
    path = ENV.fetch("KAFKA_CLIENT_CONFIG_#{mode.to_s.upcase}", nil)
    path && !path.empty? && File.file?(path) ? path : nil
  end

  # @return [Hash{String => String}] the mode's librdkafka settings, as written by bin/kafka
  def security_settings(mode)
    file = security_config_file(mode) || raise("no client config for #{mode} (KAFKA_CLIENT_CONFIG_#{mode.to_s.upcase})")
    File.readlines(file, chomp: true).each_with_object({}) do |line, acc|
      next if line.strip.empty? || line.start_with?("#")

      key, value = line.split("=", 2)
      acc[key] = value
    end
  end

  # @return [Hash{Symbol => String}] settings for a producer's `config.kafka`
  def security_kafka(mode, **overrides)
    settings = security_settings(mode)
    KCAT_ONLY_OAUTH_KEYS.each { |key| settings.delete(key) } if mode == :oauthbearer
    settings.transform_keys(&:to_sym).merge(overrides)
  end

  # An unsecured JWT (alg "none", RFC 7515 compact form with an empty signature), the only
  # kind the broker's test validator accepts.
  # @return [Array(String, Integer)] the token and its expiry in ms since the epoch
  def unsecured_jwt(lifetime_s:, sub: PRINCIPAL)
    now = Time.now.to_i
    expires = now + lifetime_s
    encode = ->(hash) { Base64.urlsafe_encode64(JSON.generate(hash), padding: false) }
    token = "#{encode.call({ alg: "none" })}.#{encode.call({ sub: sub, iat: now, exp: expires, jti: SecureRandom.hex(8) })}."
    [token, expires * 1000]
  end

  # A token provider listener (`config.oauth.token_provider_listener`) that answers every
  # refresh with a fresh unsecured JWT and remembers what it handed out.
  class TokenProvider
    attr_reader :tokens

    # @param lifetime_s [Integer] how long each token lives
    def initialize(lifetime_s: 3600)
      @lifetime_s = lifetime_s
      @tokens = []
      @mutex = Mutex.new
    end

    def on_oauthbearer_token_refresh(event)
      token, expires_ms = SecurityHelpers.unsecured_jwt(lifetime_s: @lifetime_s)
      @mutex.synchronize { @tokens << token }
      event[:bearer].oauthbearer_set_token(token: token, lifetime_ms: expires_ms, principal_name: PRINCIPAL)
    end

    # @return [Integer] tokens handed out so far
    def count = @mutex.synchronize { @tokens.size }
  end

  # A token provider whose identity provider is down.
  class FailingTokenProvider
    def on_oauthbearer_token_refresh(_event)
      raise IOError, "identity provider unreachable: connection refused"
    end
  end

  # Reads `topic` back over the mode's listener with kcat, as "offset:payload" lines.
  # sasl_ssl is read over the broker's ssl listener instead: Debian's kcat (librdkafka 2.0.2)
  # fails SCRAM against Kafka 4.4 with "invalid credentials" for the right password, while
  # the producer's librdkafka 2.12 authenticates (bin/kafka says the same).
  # @param extra [Array<String>] more kcat arguments (e.g. `-X isolation.level=read_committed`)
  def kcat_read_secured(mode, topic, extra: [])
    mode = :ssl if mode == :sasl_ssl && security_config_file(:ssl)
    args = ["kcat", "-F", security_config_file(mode), "-C", "-t", topic, "-o", "beginning", "-e", "-q",
            "-f", "%o:%s\n", *extra]
    out, err, status = Open3.capture3(*args)
    raise "kcat failed (#{status.exitstatus}): #{err}" unless status.success?

    out.lines.map(&:chomp)
  end

  # A client certificate signed by bin/kafka's throwaway CA (its key sits beside the
  # ssl.ca.location file) that expired yesterday.
  # @return [Hash{Symbol => String}] ssl.certificate.location and ssl.key.location
  def expired_client_certificate(dir)
    ca_cert = security_settings(:mtls).fetch("ssl.ca.location")
    ca_key = File.join(File.dirname(ca_cert), "ca.key")
    key, csr, cert = %w[expired.key expired.csr expired.crt].map { |name| File.join(dir, name) }
    [
      ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=#{PRINCIPAL}", "-keyout", key, "-out", csr],
      ["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAserial", File.join(dir, "ca.srl"),
       "-CAcreateserial", "-days", "-1", "-out", cert]
    ].each do |command|
      _out, err, status = Open3.capture3(*command)
      raise "#{command.first(2).join(" ")} failed: #{err}" unless status.success?
    end
    { "ssl.certificate.location": cert, "ssl.key.location": key }
  end

  # A throwaway CA the broker's certificate is not signed by (for the wrong-CA case).
  # @return [String] path of its PEM certificate
  def foreign_ca(dir)
    path = File.join(dir, "foreign-ca.crt")
    _out, err, status = Open3.capture3(
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=not the broker's CA",
      "-keyout", File.join(dir, "foreign-ca.key"), "-out", path
    )
    raise "openssl failed: #{err}" unless status.success?

    path
  end
end

RSpec.configure do |config|
  config.include SecurityHelpers
  # `security: :mode` runs only when that mode's client config is given; `security: :all`
  # only when every mode's is.
  config.filter_run_excluding(
    security: lambda do |mode|
      modes = mode == :all ? SecurityHelpers::MODES : [mode]
      !modes.all? { |m| SecurityHelpers.security_config_file(m) }
    end
  )
end
