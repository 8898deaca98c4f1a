# frozen_string_literal: true

require "spec_helper"

# B1/B2: randomized bad messages and configs only ever raise WaterDrop's documented errors,
# naming the bad field; every accepted message is delivered; broker rejects carry the reason.
RSpec.describe "Bad input", timeout: 600 do
  let(:topic) { mock_topic(partitions: 3) }
  let(:rng) { Random.new(RSpec.configuration.seed) }
  let(:quiet) { Logger.new(File::NULL) }

  def pick(options) = options[rng.rand(options.size)]

  def invalid_utf8 = (+"caf\xC3\x28\xff").force_encoding(Encoding::UTF_8)

  # Returns [message, invalid_fields]: each field drawn from valid and invalid values.
  def generate_message
    message = {}
    invalid = []
    field = lambda do |name, valid, bad, absent_ok: true|
      roll = rng.rand
      if roll < 0.12
        invalid << name
        message[name] = pick(bad).call
      elsif roll < 0.45 && absent_ok
        nil # left out
      else
        message[name] = pick(valid).call
      end
    end
    field.call(:topic, [-> { topic }, -> { topic.to_sym }],
               [-> {}, -> { "" }, -> { "bad topic!" }, -> { 123 }, -> { invalid_utf8 }], absent_ok: false)
    field.call(:payload,
               [-> { "x" }, -> { "" }, -> {}, -> { rng.bytes(rng.rand(1..2_000)) }, -> { invalid_utf8 },
                -> { "p" * 100_000 }, -> { "ünïcødé ✓" }],
               [-> { 123 }, -> { :sym }, -> { "o" * 1_000_100 }, -> { ["a"] }], absent_ok: false)
    field.call(:key, [-> {}, -> { "k" }, -> { rng.bytes(8) }, -> { invalid_utf8 }], [-> { "" }, -> { 5 }, -> { :k }])
    field.call(:partition, [-> { -1 }, -> { 0 }, -> { 2 }], [-> { "1" }, -> { -2 }, -> { 1.5 }, -> { 2**31 }, -> { 2**40 }])
    field.call(:partition_key, [-> { "pk" }, -> { rng.bytes(4) }], [-> { "" }, -> { 7 }])
    field.call(:timestamp, [-> { Time.now }, -> { (Time.now.to_f * 1000).to_i }], [-> { "now" }, -> { 1.5 }, -> { 2**63 }, -> { Time.at(2**62) }])
    field.call(:headers,
               [-> {}, -> { {} }, -> { { "a" => "b" } }, -> { { "a" => %w[x y] } },
                -> { { "huge" => "h" * 60_000 } }, -> { { "bin" => rng.bytes(32) } },
                -> { Array.new(200) { |i| ["h#{i}", "v#{i}"] }.to_h }],
               [-> { { "a" => 1 } }, -> { { a: "b" } }, -> { "str" }, -> { { "a" => [1] } }, -> { [%w[a b]] }])
    message[:label] = rng.rand(1000) if rng.rand < 0.1
    message[:unknown_key] = "ignored" if rng.rand < 0.1
    message.delete(:topic) if rng.rand < 0.01 && invalid.push(:topic)
    [message, invalid.uniq]
  end

  it "raises only MessageInvalidError naming the field for 10,000 generated messages and delivers the rest" do
    producer = build_producer(logger: quiet, max_wait_timeout: 30_000)
    producer.produce_sync(topic: topic, payload: "warm-up") # connected: the native fast path is live
    counts = Hash.new(0)
    problems = []
    handles = []
    started = now_s
    10_000.times do |i|
      message, invalid = generate_message
      sync = (i % 50).zero?
      begin
        result = sync ? producer.produce_sync(message) : producer.produce_async(message)
        if invalid.empty?
          counts[:accepted] += 1
          handles << result unless sync
          counts[:delivered_sync] += 1 if sync
        else
          problems << "accepted a message with invalid #{invalid}: #{message.inspect[0, 200]}"
        end
      rescue WaterDrop::Errors::MessageInvalidError => e
        counts[:message_invalid] += 1
        if invalid.empty?
          problems << "rejected a valid message (#{e.message}): #{message.inspect[0, 200]}"
        elsif !invalid.all? { |f| e.message.include?(f.to_s) } && !(invalid.include?(:headers) && e.message.include?("headers"))
          problems << "error #{e.message.inspect} does not name #{invalid}"
        end
      rescue WaterDrop::Errors::ProduceError => e
        counts[:"produce_error_#{e.cause.class}"] += 1
        problems << "ProduceError for #{invalid.empty? ? "a valid" : "an invalid #{invalid}"} message: " \
                    "#{e.message} cause=#{e.cause.inspect} #{message.inspect[0, 200]}"
      rescue Exception => e # rubocop:disable Lint/RescueException
        counts[:"other_#{e.class}"] += 1
        problems << "#{e.class}: #{e.message} for invalid=#{invalid} #{message.inspect[0, 200]}"
      end
    end
    reports = handles.map { |h| h.wait(max_wait_timeout_ms: 30_000, raise_response_error: false) }
    failed = reports.reject { |r| r.error.nil? }
    counts[:delivered_async] = reports.size - failed.size
    counts[:delivery_errors] = failed.size
    puts "[bad_input/messages] seed=#{RSpec.configuration.seed} generated=10000 #{counts} " \
         "problems=#{problems.size} in #{(now_s - started).round(2)}s"
    problems.map { |p| p[0, 60] }.tally.first(8).each { |p, n| puts "  #{n}x #{p}" }
    expect(failed.map { |r| r.error.code }.tally).to eq({})
    expect(problems.first(10)).to eq([])
  end

  it "raises only ConfigurationInvalidError / ConfigError naming the setting for 1,000 generated configs" do
    counts = Hash.new(0)
    problems = []
    started = now_s
    1_000.times do
      invalid = []
      bad_kafka_key = nil
      settings = {}
      choose = lambda do |name, valid, bad|
        if rng.rand < 0.15
          invalid << name
          settings[name] = pick(bad)
        elsif rng.rand < 0.5
          settings[name] = pick(valid)
        end
      end
      kafka = { "bootstrap.servers": mock_cluster.bootstrap_servers }
      kafka[:"linger.ms"] = 5 if rng.rand < 0.3
      case rng.rand
      when 0...0.08 then bad_kafka_key = :"unknown.property.x"
      when 0.08...0.16 then bad_kafka_key = :acks
      end
      kafka[:"unknown.property.x"] = 1 if bad_kafka_key == :"unknown.property.x"
      kafka[:acks] = "banana" if bad_kafka_key == :acks
      settings[:kafka] = kafka
      choose.call(:kafka, [kafka], [{}, "str", { "bootstrap.servers" => "x" }, nil])
      choose.call(:max_wait_timeout, [1_000, 5_000, 2_500.5], [-1, "x", nil])
      choose.call(:id, ["my-id", "ünï-id"], ["", 123])
      choose.call(:wait_on_queue_full, [true, false], ["yes", nil])
      choose.call(:max_payload_size, [1_000, 1_000_012], [0, 1.5])
      choose.call(:idle_disconnect_timeout, [0, 30_000], [5, "never"])
      mode = rng.rand < 0.1 ? :foo : pick(%i[fd thread])
      invalid << :"polling.mode" if mode == :foo
      bad_kafka_key = nil if invalid.include?(:kafka)

      producer = nil
      begin
        producer = WaterDrop::Producer.new do |config|
          config.logger = quiet
          settings.each { |k, v| config.public_send(:"#{k}=", v) }
          config.polling.mode = mode
        end
        unless invalid.empty?
          problems << "accepted config with invalid #{invalid}: #{settings.inspect[0, 200]}"
          next
        end
        counts[:configured] += 1
        begin
          producer.produce_sync(topic: topic, payload: "cfg")
          counts[:produced] += 1
          problems << "connected with a bad librdkafka #{bad_kafka_key}" if bad_kafka_key
        rescue WaterdropFd::ConfigError, WaterDrop::Errors::ProduceError => e
          error = e.is_a?(WaterDrop::Errors::ProduceError) ? e.cause : e
          counts[:"connect_#{e.class.name.split("::").last}"] += 1
          if !error.is_a?(WaterdropFd::ConfigError) || bad_kafka_key.nil? || !error.message.include?(bad_kafka_key.to_s)
            problems << "connect failed: #{e.class}: #{e.message} cause=#{e.cause.inspect} bad=#{bad_kafka_key.inspect}"
          end
        end
      rescue WaterDrop::Errors::ConfigurationInvalidError => e
        counts[:configuration_invalid] += 1
        problems << "rejected a valid config: #{e.message}" if invalid.empty?
        missing = invalid.reject { |name| e.message.include?(name.to_s) }
        problems << "#{e.message} does not name #{missing}" unless missing.empty?
      rescue Exception => e # rubocop:disable Lint/RescueException
        counts[:"other_#{e.class}"] += 1
        problems << "#{e.class}: #{e.message} for #{settings.inspect[0, 200]}"
      ensure
        producer&.close! if producer&.status&.active?
      end
    end
    puts "[bad_input/configs] seed=#{RSpec.configuration.seed} generated=1000 #{counts} problems=#{problems.size} " \
         "in #{(now_s - started).round(2)}s"
    problems.map { |p| p[0, 160] }.tally.first(8).each { |p, n| puts "  #{n}x #{p}" }
    expect(problems.first(10)).to eq([])
  end

  it "reports a broker-side MESSAGE_TOO_LARGE reject with the broker's reason" do
    producer = build_producer(logger: quiet, max_wait_timeout: 10_000)
    producer.produce_sync(topic: topic, payload: "warm-up")
    mock_cluster.push_request_errors(0, 10) # MESSAGE_TOO_LARGE
    error = nil
    expect { producer.produce_sync(topic: topic, payload: "big", partition: 0) }
      .to raise_error(WaterDrop::Errors::ProduceError) { |e| error = e }
    puts "[bad_input/broker_reject] cause=#{error.cause.inspect}"
    expect(error.cause).to be_a(WaterdropFd::RdkafkaError)
    expect(error.cause.code).to eq(:msg_size_too_large)
    expect(producer.produce_sync(topic: topic, payload: "fine").error).to be_nil
  end

  it "rejects a message over the client's message.max.bytes with msg_size_too_large" do
    producer = build_producer(kafka: { "message.max.bytes": 10_000 }, logger: quiet, max_wait_timeout: 10_000)
    producer.produce_sync(topic: topic, payload: "warm-up")
    errors = [:sync, :async].map do |mode|
      mode == :sync ? producer.produce_sync(topic: topic, payload: "x" * 20_000) : producer.produce_async(topic: topic, payload: "x" * 20_000)
      nil
    rescue WaterDrop::Errors::ProduceError => e
      e
    end
    puts "[bad_input/client_max_bytes] causes=#{errors.map { |e| e&.cause.inspect }}"
    expect(errors).to all(be_a(WaterDrop::Errors::ProduceError))
    expect(errors.map { |e| e.cause.code }).to eq(%i[msg_size_too_large msg_size_too_large])
  end
end
