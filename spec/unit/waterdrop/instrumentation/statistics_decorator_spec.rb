# frozen_string_literal: true

require "spec_helper"

RSpec.describe WaterDrop::Instrumentation::StatisticsDecorator do
  # The decorator's clock, driven by the examples (ms).
  def at(ms)
    allow(decorator).to receive(:now_ms).and_return(ms)
    self
  end

  def emit(stats, ms)
    at(ms)
    decorator.call(stats)
  end

  def librdkafka_like(tx:, broker_tx:, partition_tx:, rtt: 10)
    {
      "name" => "waterdrop#producer-1", "ts" => 1, "tx" => tx, "txmsgs" => tx * 2,
      "brokers" => {
        "b1" => { "tx" => broker_tx, "txerrs" => 0, "rtt" => { "avg" => rtt }, "toppars" => { "t-0" => { "tx" => 1 } } }
      },
      "topics" => {
        "t" => { "batchcnt" => { "avg" => 1 }, "tx" => 3, "partitions" => { "0" => { "tx" => partition_tx, "msgq_cnt" => 1 } } }
      },
      "cgrp" => { "tx" => 7 },
      "custom" => { "deep" => { "tx" => tx } }
    }
  end

  context "with only_keys" do
    subject(:decorator) { described_class.new(only_keys: %w[tx txerrs]) }

    it "adds KEY_d and KEY_fd of 0 the first time a key is seen" do
      stats = emit({ "tx" => 5, "txerrs" => 1, "rx" => 3 }, 1_000)
      expect(stats).to include("tx_d" => 0, "tx_fd" => 0, "txerrs_d" => 0, "txerrs_fd" => 0)
      expect(stats).not_to have_key("rx_d")
    end

    it "gives the change since the previous statistics as KEY_d" do
      emit({ "tx" => 5 }, 1_000)
      expect(emit({ "tx" => 12 }, 2_000)).to include("tx_d" => 7, "tx_fd" => 0)
      expect(emit({ "tx" => 10 }, 3_000)).to include("tx_d" => -2, "tx_fd" => 0)
    end

    it "counts for how many ms the value stayed the same as KEY_fd, and resets it on change" do
      emit({ "tx" => 5 }, 1_000)
      expect(emit({ "tx" => 5 }, 1_100)).to include("tx_d" => 0, "tx_fd" => 100)
      expect(emit({ "tx" => 5 }, 1_350)).to include("tx_d" => 0, "tx_fd" => 350)
      expect(emit({ "tx" => 6 }, 1_400)).to include("tx_d" => 1, "tx_fd" => 0)
      expect(emit({ "tx" => 6 }, 1_500)).to include("tx_fd" => 100)
    end

    it "decorates the root, brokers, topics, partitions, the consumer group and other root Hashes" do
      emit(librdkafka_like(tx: 1, broker_tx: 10, partition_tx: 100), 1_000)
      stats = emit(librdkafka_like(tx: 2, broker_tx: 15, partition_tx: 100), 1_500)
      expect(stats).to include("tx_d" => 1)
      expect(stats["brokers"]["b1"]).to include("tx_d" => 5, "tx_fd" => 0, "txerrs_d" => 0, "txerrs_fd" => 500)
      expect(stats["topics"]["t"]).to include("tx_d" => 0, "tx_fd" => 500)
      expect(stats["topics"]["t"]["partitions"]["0"]).to include("tx_d" => 0, "tx_fd" => 500)
      expect(stats["cgrp"]).to include("tx_d" => 0, "tx_fd" => 500)
      expect(stats["custom"]["deep"]).to include("tx_d" => 1)
    end

    it "leaves the sub-objects of brokers and topics (window stats, toppars) alone" do
      emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1), 1_000)
      stats = emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1), 1_100)
      expect(stats["brokers"]["b1"]["toppars"]["t-0"]).to eq("tx" => 1)
      expect(stats["topics"]["t"]["partitions"]["0"]).not_to have_key("msgq_cnt_d")
    end

    it "returns the same Hash, frozen" do
      stats = { "tx" => 1 }
      expect(emit(stats, 1_000)).to equal(stats)
      expect(stats).to be_frozen
    end

    it "skips a key whose previous value was not a number, and handles a Hash that used to be a number" do
      emit({ "tx" => "n/a", "custom" => 3 }, 1_000)
      stats = emit({ "tx" => 4, "custom" => { "tx" => 2 } }, 1_100)
      expect(stats).not_to have_key("tx_d")
      expect(stats["custom"]).to include("tx_d" => 0, "tx_fd" => 0)
    end

    it "treats a broker or partition that appears later as new" do
      emit({ "brokers" => {} }, 1_000)
      stats = emit({ "brokers" => { "b2" => { "tx" => 9 } } }, 1_100)
      expect(stats["brokers"]["b2"]).to include("tx_d" => 0, "tx_fd" => 0)
    end
  end

  context "with excluded_keys" do
    subject(:decorator) { described_class.new(only_keys: %w[tx txerrs], excluded_keys: %w[topics txerrs]) }

    it "neither decorates nor walks them, and they win over only_keys" do
      emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1), 1_000)
      stats = emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1), 1_100)
      expect(decorator.only_keys).to eq(%w[tx])
      expect(stats["topics"]["t"]).not_to have_key("tx_d")
      expect(stats["topics"]["t"]["partitions"]["0"]).not_to have_key("tx_d")
      expect(stats["brokers"]["b1"]).to include("tx_d" => 0).and(satisfy { |b| !b.key?("txerrs_d") })
    end
  end

  context "without only_keys" do
    subject(:decorator) { described_class.new(excluded_keys: %w[toppars]) }

    it "decorates every numeric key at any depth except under excluded keys" do
      emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1, rtt: 10), 1_000)
      stats = emit(librdkafka_like(tx: 1, broker_tx: 1, partition_tx: 1, rtt: 25), 1_200)
      expect(stats).to include("ts_d" => 0, "txmsgs_d" => 0, "txmsgs_fd" => 200)
      expect(stats["brokers"]["b1"]["rtt"]).to include("avg_d" => 15, "avg_fd" => 0)
      expect(stats["topics"]["t"]["partitions"]["0"]).to include("msgq_cnt_d" => 0, "msgq_cnt_fd" => 200)
      expect(stats["brokers"]["b1"]["toppars"]["t-0"]).to eq("tx" => 1)
      expect(stats).not_to have_key("name_d")
    end
  end

  describe "the default of config.statistics_decorator" do
    let(:config) { WaterDrop::Config.new }

    it "is a decorator of tx, txretries, txerrs and rxerrs that skips topics and window stats" do
      decorator = config.statistics_decorator
      expect(decorator).to be_a(described_class)
      expect(decorator.only_keys).to eq(%w[tx txretries txerrs rxerrs])
      expect(decorator.excluded_keys).to eq(%w[int_latency outbuf_latency rtt throttle req toppars topics])
    end

    it "is a new decorator for every config (each producer keeps its own previous statistics)" do
      expect(config.statistics_decorator).not_to equal(WaterDrop::Config.new.statistics_decorator)
    end

    it "must answer #call" do
      config.kafka = { "bootstrap.servers": "127.0.0.1:1" }
      config.statistics_decorator = Object.new
      expect { config.setup }.to raise_error(
        WaterDrop::Errors::ConfigurationInvalidError, /:statistics_decorator=>"must respond to #call"/
      )
    end
  end
end
