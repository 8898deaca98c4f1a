# frozen_string_literal: true

require "spec_helper"
require "bundler"
require "open3"
require "tmpdir"

RSpec.describe WaterDrop::ConnectionPool do
  let(:topic) { mock_topic(partitions: 1) }
  let(:events) { [] }
  let(:recorder) do
    list = events
    Object.new.tap do |listener|
      %w[created setup shutdown reload reloaded].each do |name|
        listener.define_singleton_method(:"on_connection_pool_#{name}") { |event| list << [event.id, event.payload] }
      end
    end
  end
  let(:servers) { mock_cluster.bootstrap_servers }

  before { WaterDrop.monitor.subscribe(recorder) }

  after do
    WaterDrop.monitor.unsubscribe(recorder)
    described_class.close
    @pools&.each(&:close)
  end

  def build_pool(size: 2, timeout: 500, &block)
    block ||= ->(config) { config.kafka = { "bootstrap.servers": servers } }
    pool = described_class.new(size: size, timeout: timeout, &block)
    (@pools ||= []) << pool
    pool
  end

  it "lends producers that deliver, the same one to nested calls in a thread, another to another thread" do
    pool = build_pool
    report = nil
    outer = inner = other = nil
    pool.with do |producer|
      outer = producer
      report = producer.produce_sync(topic: topic, payload: "pooled")
      pool.with { |again| inner = again }
      Thread.new { pool.with { |p| other = p } }.join
    end

    expect(report.topic_name).to eq(topic)
    expect(report.error).to be_nil
    expect(outer).to be_a(WaterDrop::Producer)
    expect(inner).to be(outer)
    expect(other).to be_a(WaterDrop::Producer)
    expect(other).not_to be(outer)
    expect(pool.stats).to eq(size: 2, available: 2)
    expect(pool.pool).to be_a(::ConnectionPool)
    expect(events).to eq([["connection_pool.created", { pool: pool, size: 2, timeout: 500 }]])
  end

  it "raises the connection_pool gem's timeout when every producer stays checked out past `timeout` (ms)" do
    pool = build_pool(size: 1, timeout: 50)
    pool.with do
      expect { Thread.new { Thread.current.report_on_exception = false; pool.with { nil } }.join }.to raise_error(::ConnectionPool::TimeoutError)
    end
  end

  it "closes its producers on shutdown (delivering first) and on reload, and instruments both" do
    pool = build_pool(size: 1)
    handle = nil
    first = pool.with do |producer|
      handle = producer.produce_async(topic: topic, payload: "before reload")
      producer
    end
    pool.reload
    expect(first.status.to_sym).to eq(:closed)
    expect(handle.pending?).to be(false)
    expect(handle.error_code).to eq(0)

    second = pool.with { |producer| producer }
    expect(second).not_to be(first)
    pool.shutdown
    expect(second.status.to_sym).to eq(:closed)
    expect { pool.with { nil } }.to raise_error(::ConnectionPool::PoolShuttingDownError)
    expect(events.map(&:first)).to eq(%w[connection_pool.created connection_pool.reloaded connection_pool.shutdown])
    expect(events.last).to eq(["connection_pool.shutdown", { pool: pool }])
  end

  it "builds transactional producers with their number and runs #transaction on one" do
    prefix = "pool-txn-#{SecureRandom.hex(4)}"
    pool = build_pool(size: 2) do |config, index|
      config.kafka = { "bootstrap.servers": servers, "transactional.id": "#{prefix}-#{index}" }
    end
    committed = []
    handles = pool.transaction do |producer|
      producer.monitor.subscribe("transaction.committed") { committed << producer.id }
      expect(producer.transaction?).to be(true)
      [producer.produce_async(topic: topic, payload: "a"), producer.produce_async(topic: topic, payload: "b")]
    end
    ids = []
    pool.with { |p1| Thread.new { pool.with { |p2| ids = [p1, p2].map { |p| p.config.kafka[:"transactional.id"] } } }.join }

    expect(handles.map { |h| h.wait.error }).to eq([nil, nil])
    expect(committed.size).to eq(1)
    expect(ids.sort).to eq(["#{prefix}-1", "#{prefix}-2"])
  end

  describe "the process-wide pool" do
    it "is set up, used through the class and WaterDrop, then closed and forgotten" do
      pool = described_class.setup(size: 1, timeout: 300) { |config| config.kafka = { "bootstrap.servers": servers } }

      expect(described_class.active?).to be(true)
      expect(WaterDrop.pool).to be(pool)
      expect(described_class.default_pool).to be(pool)
      report = described_class.with { |producer| producer.produce_sync(topic: topic, payload: "global") }
      expect(report.error).to be_nil
      expect(WaterDrop.with { |producer| producer }).to be_a(WaterDrop::Producer)
      expect(described_class.stats).to eq(size: 1, available: 1)
      described_class.reload
      described_class.close

      expect(described_class.active?).to be(false)
      expect(described_class.stats).to be_nil
      expect(events.map(&:first)).to eq(
        %w[connection_pool.created connection_pool.setup connection_pool.reloaded connection_pool.reload
           connection_pool.shutdown]
      )
      expect(events[1]).to eq(["connection_pool.setup", { pool: pool, size: 1, timeout: 300 }])
    end

    it "is safe to close when none was set up, and refuses #with before setup" do
      expect(described_class.close).to be_nil
      expect(described_class.shutdown).to be_nil
      expect(described_class.reload).to be_nil
      expect { described_class.with { nil } }.to raise_error(
        RuntimeError, "No global WaterDrop::ConnectionPool is set up: call WaterDrop::ConnectionPool.setup first"
      )
      expect { WaterDrop.transaction { nil } }.to raise_error(RuntimeError, /call WaterDrop::ConnectionPool.setup first/)
      expect(events).to eq([])
    end
  end

  it "needs a block" do
    expect { described_class.new(size: 1) }.to raise_error(
      ArgumentError, "WaterDrop::ConnectionPool.new needs a block that configures the producers"
    )
  end

  # A bundle without connection_pool: the gem is really absent from the load path.
  it "names the connection_pool gem when it is not available" do
    root = File.expand_path("../..", __dir__)
    Dir.mktmpdir("waterdrop-pool-nogem-") do |app|
      File.write(File.join(app, "Gemfile"), <<~RUBY)
        source "https://rubygems.org"
        gem "waterdrop_fd", path: #{root.inspect}
      RUBY
      env = { "BUNDLE_GEMFILE" => File.join(app, "Gemfile"), "BUNDLE_SILENCE_ROOT_WARNING" => "1" }
      script = <<~'RUBY'
        require "waterdrop"
        begin
          WaterDrop::ConnectionPool.new(size: 1) { |c| c.deliver = false }
        rescue LoadError => e
          puts e.class, e.message
        end
        WaterDrop::ConnectionPool.close
        puts "closed without a pool"
      RUBY
      out = Bundler.with_unbundled_env do
        install, status = Open3.capture2e(env, RbConfig.ruby, "-S", "bundle", "install", "--local", chdir: app)
        raise install unless status.success?

        Open3.capture2e(env, RbConfig.ruby, "-S", "bundle", "exec", "ruby", "-e", script, chdir: app).first
      end
      lines = out.lines(chomp: true)
      expect(lines[0]).to eq("LoadError")
      expect(lines[1]).to start_with(
        "WaterDrop::ConnectionPool needs the connection_pool gem, which is not installed or not in the bundle: " \
        "add `gem \"connection_pool\"` to your Gemfile (Debian: apt-get install ruby-connection-pool) and run bundle install"
      )
      expect(lines[2]).to eq("closed without a pool")
    end
  end
end
