# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Config do
  let(:kafka) { { "bootstrap.servers": "127.0.0.1:9092" } }

  def setup_with(**values)
    described_class.new.setup do |config|
      config.kafka = kafka
      values.each do |path, value|
        *nodes, leaf = path.to_s.split(".")
        target = nodes.reduce(config) { |node, name| node.public_send(name) }
        target.public_send(:"#{leaf}=", value)
      end
    end
  end

  def expect_invalid(values, errors)
    expect { setup_with(**values) }
      .to raise_error(WaterDrop::Errors::ConfigurationInvalidError, errors.inspect)
  end

  describe "defaults" do
    subject(:config) { described_class.new }

    {
      max_payload_size: 1_000_012,
      max_wait_timeout: 180_000,
      wait_on_queue_full: true,
      wait_backoff_on_queue_full: 100,
      wait_timeout_on_queue_full: 10_000,
      instrument_on_wait_queue_full: true,
      wait_backoff_on_transaction_command: 500,
      max_attempts_on_transaction_command: 5,
      reload_on_transaction_fatal_error: true,
      reload_on_idempotent_fatal_error: false,
      wait_backoff_on_idempotent_fatal_error: 5_000,
      max_attempts_on_idempotent_fatal_error: 5,
      wait_backoff_on_transaction_fatal_error: 1_000,
      max_attempts_on_transaction_fatal_error: 10,
      wait_timeout_on_transaction_abort: 0,
      non_reloadable_errors: %i[fenced],
      idle_disconnect_timeout: 0,
      deliver: true,
      kafka: {}
    }.each do |name, default|
      it "#{name} is #{default.inspect}" do
        expect(config.public_send(name)).to eq(default)
      end
    end

    it "id is waterdrop- and 12 hex digits, different for each config" do
      expect(config.id).to match(/\Awaterdrop-\h{12}\z/)
      expect(described_class.new.id).not_to eq(config.id)
    end

    it "logger is a Logger on stdout at WARN" do
      expect(config.logger).to be_a(Logger)
      expect(config.logger.level).to eq(Logger::WARN)
    end

    it "monitor is a fresh WaterDrop::Instrumentation::Monitor" do
      expect(config.monitor).to be_a(WaterDrop::Instrumentation::Monitor)
      expect(described_class.new.monitor).not_to equal(config.monitor)
    end

    it "middleware is a fresh, empty WaterDrop::Middleware" do
      expect(config.middleware).to be_a(WaterDrop::Middleware)
      expect(described_class.new.middleware).not_to equal(config.middleware)
      expect(config.middleware.run({ a: 1 })).to eq({ a: 1 })
    end

    it "statistics_decorator is a fresh decorator that answers #call" do
      expect(config.statistics_decorator).to respond_to(:call)
      expect(described_class.new.statistics_decorator).not_to equal(config.statistics_decorator)
    end

    it "oauth.token_provider_listener is false" do
      expect(config.oauth.token_provider_listener).to be(false)
    end

    it "polling.mode is :fd, polling.poller nil, polling.fd.max_time 100, polling.fd.periodic_poll_interval 1000" do
      expect(config.polling.mode).to eq(:fd)
      expect(config.polling.poller).to be_nil
      expect(config.polling.fd.max_time).to eq(100)
      expect(config.polling.fd.periodic_poll_interval).to eq(1_000)
    end

    it "gives each config its own mutable defaults" do
      other = described_class.new
      config.non_reloadable_errors << :other
      config.kafka[:x] = 1
      expect(other.non_reloadable_errors).to eq(%i[fenced])
      expect(other.kafka).to eq({})
    end
  end

  describe "#setup" do
    it "returns the config with WaterDrop's kafka defaults added" do
      config = setup_with
      expect(config).to be_a(described_class)
      expect(config.kafka).to eq(
        "bootstrap.servers": "127.0.0.1:9092", "client.id": "waterdrop", "statistics.interval.ms": 5_000,
        "message.timeout.ms": 150_000, "transaction.timeout.ms": 165_000, "socket.nagle.disable": true
      )
    end

    it "keeps the user's kafka values over the defaults" do
      kafka.merge!("client.id": "mine", "message.timeout.ms": 5)
      config = setup_with
      expect(config.kafka[:"client.id"]).to eq("mine")
      expect(config.kafka[:"message.timeout.ms"]).to eq(5)
    end

    it "accepts a frozen kafka hash without changing it" do
      frozen = { "bootstrap.servers": "127.0.0.1:9092" }.freeze
      config = described_class.new.setup { |c| c.kafka = frozen }
      expect(frozen.keys).to eq([:"bootstrap.servers"])
      expect(config.kafka[:"client.id"]).to eq("waterdrop")
    end

    it "fills in a generated id when id is nil or false" do
      expect(setup_with(id: nil).id).to match(/\Awaterdrop-\h{12}\z/)
      expect(setup_with(id: false).id).to match(/\Awaterdrop-\h{12}\z/)
    end

    it "keeps a custom id" do
      expect(setup_with(id: "orders-producer").id).to eq("orders-producer")
    end
  end

  describe "validation (ConfigurationInvalidError naming each failing key)" do
    it "id must be a non-empty String" do
      expect_invalid({ id: "" }, { id: "must be a non-empty string" })
      expect_invalid({ id: :sym }, { id: "must be a non-empty string" })
    end

    it "logger must be present" do
      expect_invalid({ logger: nil }, { logger: "must be present" })
    end

    it "monitor must be present" do
      expect_invalid({ monitor: nil }, { monitor: "must be present" })
    end

    %i[
      max_wait_timeout wait_backoff_on_queue_full wait_timeout_on_queue_full
      wait_backoff_on_transaction_command wait_backoff_on_idempotent_fatal_error
      wait_backoff_on_transaction_fatal_error wait_timeout_on_transaction_abort
    ].each do |key|
      it "#{key} must be a number >= 0 (0 and floats are fine)" do
        expect_invalid({ key => -1 }, { key => "must be a number greater or equal to 0" })
        expect_invalid({ key => "5" }, { key => "must be a number greater or equal to 0" })
        expect(setup_with(key => 0).public_send(key)).to eq(0)
        expect(setup_with(key => 1.5).public_send(key)).to eq(1.5)
      end
    end

    %i[
      max_payload_size max_attempts_on_transaction_command max_attempts_on_idempotent_fatal_error
      max_attempts_on_transaction_fatal_error
    ].each do |key|
      it "#{key} must be an Integer >= 1" do
        expect_invalid({ key => 0 }, { key => "must be an integer greater or equal to 1" })
        expect_invalid({ key => 1.5 }, { key => "must be an integer greater or equal to 1" })
        expect(setup_with(key => 1).public_send(key)).to eq(1)
      end
    end

    %i[
      wait_on_queue_full instrument_on_wait_queue_full reload_on_transaction_fatal_error
      reload_on_idempotent_fatal_error deliver
    ].each do |key|
      it "#{key} must be a boolean" do
        expect_invalid({ key => nil }, { key => "must be boolean" })
        expect_invalid({ key => "true" }, { key => "must be boolean" })
        expect(setup_with(key => false).public_send(key)).to be(false)
      end
    end

    it "statistics_decorator must answer #call" do
      expect_invalid({ statistics_decorator: Object.new }, { statistics_decorator: "must respond to #call" })
    end

    it "non_reloadable_errors must be an Array of Symbols" do
      expect_invalid({ non_reloadable_errors: ["fenced"] }, { non_reloadable_errors: "must be an array of symbols" })
      expect_invalid({ non_reloadable_errors: :fenced }, { non_reloadable_errors: "must be an array of symbols" })
      expect(setup_with(non_reloadable_errors: []).non_reloadable_errors).to eq([])
    end

    it "idle_disconnect_timeout must be 0 or an Integer >= 30000" do
      message = "must be 0 (disabled) or an integer greater or equal to 30000"
      expect_invalid({ idle_disconnect_timeout: 29_999 }, { idle_disconnect_timeout: message })
      expect_invalid({ idle_disconnect_timeout: 30_000.0 }, { idle_disconnect_timeout: message })
      expect(setup_with(idle_disconnect_timeout: 30_000).idle_disconnect_timeout).to eq(30_000)
    end

    it "oauth.token_provider_listener must be false or answer #on_oauthbearer_token_refresh" do
      expect_invalid(
        { "oauth.token_provider_listener": Object.new },
        { "oauth.token_provider_listener": "must be false or respond to #on_oauthbearer_token_refresh" }
      )
      listener = Class.new { def on_oauthbearer_token_refresh(_event); end }.new
      expect(setup_with("oauth.token_provider_listener": listener).oauth.token_provider_listener).to equal(listener)
    end

    describe "kafka" do
      it "must be a non-empty Hash" do
        kafka.clear
        expect_invalid({}, { kafka: "must be a non-empty hash" })
      end

      it "must be a Hash" do
        expect { described_class.new.setup { |c| c.kafka = [["bootstrap.servers", "x"]] } }
          .to raise_error(WaterDrop::Errors::ConfigurationInvalidError, { kafka: "must be a non-empty hash" }.inspect)
      end

      it "keys must be Symbols" do
        expect { described_class.new.setup { |c| c.kafka = { "bootstrap.servers" => "127.0.0.1:9092" } } }
          .to raise_error(WaterDrop::Errors::ConfigurationInvalidError, { kafka: "all keys need to be of type Symbol" }.inspect)
      end
    end

    describe "polling" do
      it "mode must be :fd or :thread" do
        expect_invalid({ "polling.mode": :fiber }, { "polling.mode": "must be :fd or :thread" })
        expect(setup_with("polling.mode": :thread).polling.mode).to eq(:thread)
      end

      it "poller must be nil or a WaterDrop::Polling::Poller" do
        expect_invalid({ "polling.poller": Object.new }, { "polling.poller": "must be nil or a WaterDrop::Polling::Poller" })
      end

      it "poller can only be set in :fd mode" do
        poller = WaterDrop::Polling::Poller.new
        expect_invalid(
          { "polling.mode": :thread, "polling.poller": poller },
          { "polling.poller": "can only be set when polling.mode is :fd" }
        )
        expect(setup_with("polling.poller": poller).polling.poller).to equal(poller)
      end

      it "fd.max_time must be an Integer >= 1" do
        expect_invalid({ "polling.fd.max_time": 0 }, { "polling.fd.max_time": "must be an integer greater or equal to 1" })
      end

      it "fd.periodic_poll_interval must be an Integer >= 100" do
        expect_invalid(
          { "polling.fd.periodic_poll_interval": 99 },
          { "polling.fd.periodic_poll_interval": "must be an integer greater or equal to 100" }
        )
        expect(setup_with("polling.fd.periodic_poll_interval": 100).polling.fd.periodic_poll_interval).to eq(100)
      end
    end

    it "reports every failing key at once" do
      expect_invalid(
        { id: "", max_payload_size: 0, deliver: nil, "polling.mode": :x },
        {
          id: "must be a non-empty string", max_payload_size: "must be an integer greater or equal to 1",
          deliver: "must be boolean", "polling.mode": "must be :fd or :thread"
        }
      )
    end
  end

  describe "through WaterDrop::Producer" do
    it "raises at setup and leaves the producer unconfigured" do
      producer = WaterDrop::Producer.new
      expect { producer.setup { |c| c.kafka = { "a" => 1 } } }
        .to raise_error(WaterDrop::Errors::ConfigurationInvalidError, { kafka: "all keys need to be of type Symbol" }.inspect)
      expect(producer.status).to be_initial
    end
  end
end
