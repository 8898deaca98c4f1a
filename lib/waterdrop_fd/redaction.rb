# frozen_string_literal: true

module WaterdropFd
  # Keeps secrets out of what this gem prints. librdkafka settings such as `sasl.password`,
  # `ssl.key.password`, `ssl.key.pem` or `sasl.oauthbearer.client.secret` are shown as
  # {FILTERED} by `config.inspect`, `config.kafka.inspect` and `config.to_h.inspect`; the
  # values themselves are untouched and reach librdkafka as given.
  module Redaction
    # What a secret is printed as.
    FILTERED = "[FILTERED]"

    # librdkafka settings that hold secrets: passwords, private keys (PEM or their
    # passphrases), OAuth client secrets and the OAUTHBEARER config string (which may carry
    # extensions such as tokens).
    SENSITIVE_KEY = /password|secret|passphrase|private\.key|\Assl\.key\.pem\z|\Asasl\.oauthbearer\.config\z|token/i

    module_function

    # @param key [Symbol, String] a librdkafka setting
    # @return [Boolean] whether its value must never be printed
    def sensitive?(key) = SENSITIVE_KEY.match?(key.to_s)

    # @param settings [Hash] librdkafka settings
    # @return [Hash] a copy with every secret value replaced by {FILTERED}
    def redact(settings)
      settings.to_h { |key, value| [key, sensitive?(key) && !value.nil? ? FILTERED : value] }
    end

    # librdkafka settings that print with their secrets filtered (`inspect`, `to_s`, `pp`)
    # and otherwise behave as the Hash they are.
    class Settings < Hash
      # @param settings [Hash]
      # @return [Settings]
      def self.from(settings) = self[settings]

      # @return [String] the settings, secrets shown as {FILTERED}
      def inspect = Redaction.redact(self).inspect
      alias to_s inspect

      # @param printer [PP]
      def pretty_print(printer) = printer.pp(Redaction.redact(self))
    end
  end
end
