# frozen_string_literal: true

require "spec_helper"
require "json"

# DeliveryReport is a native class (one is built per delivered message); to its users it
# must behave like the plain Ruby object of rdkafka-ruby's shape it replaced.
RSpec.describe WaterdropFd::DeliveryReport do
  let(:label) { { order: 42 } }
  let(:report) { described_class.new(3, 1_234, "orders", nil, label) }

  it "keeps what it was given, the same objects, under both topic readers" do
    expect([report.partition, report.offset, report.topic_name, report.topic, report.error]).to eq([3, 1_234, "orders", "orders", nil])
    expect(report.label).to equal(label)
  end

  it "defaults topic, error and label to nil and takes 2 to 5 arguments" do
    expect(described_class.new(0, 5).to_h).to eq(partition: 0, offset: 5, topic_name: nil, error: nil, label: nil)
    expect { described_class.new(1) }
      .to raise_error(ArgumentError, "wrong number of arguments (given 1, expected 2..5)")
    expect { described_class.new(1, 2, "t", nil, nil, :extra) }
      .to raise_error(ArgumentError, "wrong number of arguments (given 6, expected 2..5)")
  end

  it "round-trips through Marshal, dup and clone" do
    error = WaterdropFd::RdkafkaError.new(-192)
    failed = described_class.new(-1, -1, "orders", error, "lbl")
    copy = Marshal.load(Marshal.dump(failed)) # rubocop:disable Security/MarshalLoad
    expect(copy).to be_a(described_class)
    expect(copy.to_h.except(:error)).to eq(failed.to_h.except(:error))
    expect(copy.error.code).to eq(:msg_timed_out)
    expect(report.dup.to_h).to eq(report.to_h)
    expect(report.clone.label).to equal(label)
  end

  it "refuses to be re-initialized once frozen" do
    report.freeze
    expect { report.send(:initialize, 9, 9) }.to raise_error(FrozenError, /can't modify frozen WaterdropFd::DeliveryReport/)
    expect(report.partition).to eq(3)
  end

  it "has a readable inspect, a Hash form, pattern matching and a JSON form" do
    expect(report.inspect)
      .to eq('#<WaterdropFd::DeliveryReport topic_name="orders" partition=3 offset=1234 error=nil label={:order=>42}>')
    case report
    in { partition: Integer => partition, offset: }
      expect([partition, offset]).to eq([3, 1_234])
    end
    expect(report.as_json)
      .to eq("partition" => 3, "offset" => 1_234, "topic_name" => "orders", "error" => nil, "label" => label)
  end

  it "can be subclassed (as the rdkafka-ruby compatibility class is)" do
    subclass = Class.new(described_class)
    instance = subclass.new(1, 2, "t")
    expect(instance).to be_a(described_class)
    expect(instance.class).to eq(subclass)
    expect(instance.topic).to eq("t")
  end
end
