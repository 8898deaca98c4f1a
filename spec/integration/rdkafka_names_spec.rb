# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require "rbconfig"

# Code written for WaterDrop rescues rdkafka-ruby's classes (`rescue Rdkafka::RdkafkaError`,
# Karafka Pro around transactional marking). Each load order runs in its own Ruby process
# (constants are global; bounded by `timeout`), with a stand-in `rdkafka` written for this
# spec (spec/fixtures/rdkafka_standin) declaring the classes the way rdkafka-ruby does.
RSpec.describe "rdkafka-ruby's names for this gem's errors and handles" do
  let(:lib) { File.expand_path("../../lib", __dir__) }
  let(:standin) { File.expand_path("../fixtures/rdkafka_standin", __dir__) }

  def run_ruby(*args)
    out, err, status = Open3.capture3("timeout", "60", RbConfig.ruby, "-I", lib, *args)
    expect(status.exitstatus).to eq(0), "ruby #{args.join(" ")} failed (#{status.exitstatus}):\n#{err}"
    out
  end

  def scenario(order, with_standin: true)
    path = with_standin ? ["-I", standin] : []
    JSON.parse(run_ruby(*path, File.join(standin, "scenario.rb"), order).lines.last)
  end

  def expect_rescued_as_rdkafka(seen)
    bridged = { "class" => "WaterdropFd::RdkafkaBridge::RdkafkaError", "rdkafka" => true, "ours" => true,
                "ours_rescue" => true, "base_rescue" => true }
    expect(seen["native"]).to eq(bridged.merge(
      "code" => "bad_msg", "message" => "Input buffer is not a serialized consumer group metadata object (bad_msg)"
    ))
    timed_out = bridged.merge("code" => "msg_timed_out", "message" => "Local: Message timed out (msg_timed_out)")
    expect(seen["delivery"]).to eq(timed_out)
    expect(seen["produce_error_cause"]).to eq(timed_out)
    expect(seen["wait_timeout"]).to eq(
      "class" => "WaterdropFd::RdkafkaBridge::WaitTimeoutError", "ours" => true, "ours_rescue" => true,
      "message" => "Waiting for delivery timed out after 20 ms"
    )
  end

  it "does not define Rdkafka on its own (integrations probe `defined?(::Rdkafka)`)" do
    expect(run_ruby("-e", 'require "waterdrop_fd"; p defined?(::Rdkafka)').strip).to eq("nil")
  end

  it "raises Rdkafka::RdkafkaError subclasses when rdkafka was loaded first" do
    seen = scenario("rdkafka_first")
    expect_rescued_as_rdkafka(seen)
    # rdkafka's own classes are left as they are.
    expect(seen["handle"]).to eq([false, false])
    expect(seen["built"]).to eq([-184, "stand-in error -184"])
  end

  it "raises Rdkafka::RdkafkaError subclasses when rdkafka is loaded after this gem" do
    seen = scenario("rdkafka_after")
    expect_rescued_as_rdkafka(seen)
    expect(seen["built"]).to eq([-184, "stand-in error -184"])
  end

  it "gives working rdkafka names with the opt-in waterdrop_fd/rdkafka_compat (no ffi installed)" do
    seen = scenario("compat", with_standin: false)
    expect_rescued_as_rdkafka(seen)
    expect(seen["handle"]).to eq([true, true])
    expect(seen["report"]).to eq([true, true])
    expect(seen["built"]).to eq([-184, "prefix - Local: Queue full (queue_full)"])
  end

  it "lets rdkafka load after waterdrop_fd/rdkafka_compat (same superclasses: reopened, not refused)" do
    seen = scenario("compat_then_rdkafka")
    expect_rescued_as_rdkafka(seen)
    expect(seen["handle"]).to eq([true, true])
    expect(seen["report"]).to eq([true, true])
    # rdkafka's definitions now answer for its own class.
    expect(seen["built"]).to eq([-184, "stand-in error -184"])
  end

  it "keeps this gem's error class without any Rdkafka" do
    error = WaterdropFd::RdkafkaError.new(-184)
    expect(error).to be_an_instance_of(WaterdropFd::RdkafkaError)
    expect([error.code, error.message]).to eq([:queue_full, "Local: Queue full (queue_full)"])
  end
end
