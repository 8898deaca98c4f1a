# frozen_string_literal: true

module Bench
  # The cost of TLS: produce_async + wait all and produce_many_sync over bin/kafka's `ssl`
  # listener beside plaintext, :fd polling, interleaved per repetition. Plaintext is the same
  # broker's plaintext listener when it has one (KAFKA_CLIENT_CONFIG_PLAINTEXT, e.g.
  # `KAFKA_SECURITY=plaintext,ssl,...`), else KAFKA_BOOTSTRAP_SERVERS. Opt-in: `--tls`.
  class Tls
    APIS = %i[async many_sync].freeze
    COLUMNS = %i[plaintext ssl].freeze

    # @return [Hash{Array => Hash{Symbol => Array<Float>}}] [api, producers, messages] => column => msg/s per rep
    attr_reader :results
    # @return [String] where each column was measured
    attr_reader :description

    # @return [String, nil] why the section cannot run, nil when it can
    def self.unavailable_reason
      return "KAFKA_CLIENT_CONFIG_SSL is not set (start bin/kafka with KAFKA_SECURITY=plaintext,ssl)" unless config_file(:ssl)
      return nil if config_file(:plaintext) || !ENV.fetch("KAFKA_BOOTSTRAP_SERVERS", "").empty?

      "no plaintext broker (KAFKA_CLIENT_CONFIG_PLAINTEXT or KAFKA_BOOTSTRAP_SERVERS)"
    end

    def self.config_file(mode)
      path = ENV.fetch("KAFKA_CLIENT_CONFIG_#{mode.upcase}", "")
      path.empty? || !File.file?(path) ? nil : path
    end

    def self.settings(mode)
      if (file = config_file(mode))
        File.readlines(file, chomp: true).reject { |l| l.strip.empty? || l.start_with?("#") }
            .to_h { |l| l.split("=", 2) }.transform_keys(&:to_sym)
      else
        { "bootstrap.servers": ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
      end
    end

    def initialize(settings, progress)
      @s = settings
      @progress = progress
      @payload = ("x" * settings.bytes).freeze
      @results = Hash.new { |h, k| h[k] = Hash.new { |c, col| c[col] = [] } }
      @kafka = COLUMNS.to_h { |col| [col, self.class.settings(col)] }
      @description = COLUMNS.map { |col| "#{col} at #{@kafka[col][:"bootstrap.servers"]}" }.join(", ")
    end

    def run
      cases = @s.producers.size * @s.messages.size
      @progress.section("tls", @s.reps * cases * COLUMNS.size * APIS.size)
      @s.reps.times do |rep|
        COLUMNS.each { |col| run_column(col, rep) }
      end
      self
    end

    private

    def run_column(col, rep)
      kafka = @kafka[col]
      fleet = Fleet.new(:fd, kafka[:"bootstrap.servers"], @s.kafka.merge(kafka), @s.topic, @s.producers.max)
      @s.producers.product(@s.messages).each do |count, messages|
        APIS.each do |api|
          @progress.step("rep #{rep + 1} #{col} #{api} #{count} producers x #{messages}")
          producers = fleet.first(count)
          @results[[api, count, messages]][col] << (api == :async ? async_rate(producers, messages) : many_rate(producers, messages))
        end
      end
    ensure
      fleet&.close
    end

    def async_rate(producers, messages)
      message = { topic: @s.topic, payload: @payload }.freeze
      elapsed = Clock.measure do
        producers.map do |producer|
          Thread.new { Array.new(messages) { producer.produce_async(message) }.each(&:wait) }
        end.each(&:join)
      end
      producers.size * messages / elapsed
    end

    def many_rate(producers, messages)
      batch = Array.new(messages) { { topic: @s.topic, payload: @payload } }
      elapsed = Clock.measure do
        producers.map { |producer| Thread.new { producer.produce_many_sync(batch) } }.each(&:join)
      end
      producers.size * messages / elapsed
    end
  end
end
