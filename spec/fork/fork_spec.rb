# frozen_string_literal: true

require "spec_helper"

RSpec.describe "Producers across fork", timeout: 600 do
  before(:all) do
    @cluster = ExternalMockCluster.start(brokers: 3, topics: { "fork-f1" => 4, "fork-misc" => 2 })
  end

  after(:all) { @cluster&.stop }

  let(:servers) { @cluster.bootstrap_servers }

  def make_producer(**kafka)
    producer = WaterDrop::Producer.new do |config|
      config.kafka = { "bootstrap.servers": servers }.merge(kafka)
      config.max_wait_timeout = 30_000
      config.logger = Logger.new(File::NULL)
    end
    (@producers_to_close ||= []) << producer
    producer
  end

  it "F1: 20 children produce through 3 producers connected in the parent, while the parent produces; " \
     "every message arrives exactly once" do
    producers = Array.new(3) { make_producer }
    producers.each { |p| p.produce_sync(topic: "fork-f1", payload: "warm-#{p.id}") }

    parent_handles = []
    parent_thread = Thread.new do
      2_000.times { |i| parent_handles << producers[i % 3].produce_async(topic: "fork-f1", payload: "parent-#{i}") }
    end

    pids = Array.new(20) do |c|
      fork_child do
        handles = Array.new(1_000) do |i|
          producers[i % 3].produce_async(topic: "fork-f1", payload: "child-#{c}-#{i}")
        end
        handles.all? { |h| h.wait(max_wait_timeout_ms: 60_000).offset >= 0 }
      end
    end
    parent_thread.join
    statuses = wait_children(pids, timeout: 300)
    parent_reports = parent_handles.map { |h| h.wait(max_wait_timeout_ms: 60_000) }

    expect(statuses.values).to all(eq(0))
    expect(parent_reports.map(&:error)).to all(be_nil)

    payloads = @cluster.read_payloads("fork-f1").reject { |p| p.start_with?("warm-") }
    expected = Array.new(20) { |c| Array.new(1_000) { |i| "child-#{c}-#{i}" } }.flatten +
               Array.new(2_000) { |i| "parent-#{i}" }
    duplicates = payloads.tally.select { |_, n| n > 1 }.keys
    missing = expected - payloads
    puts "F1: sent #{expected.size}, read back #{payloads.size}, duplicates #{duplicates.size}, missing #{missing.size}"
    expect(duplicates).to be_empty
    expect(missing).to be_empty
    expect(payloads.size).to eq(expected.size)
  end

  it "a child's first use fails the parent's in-flight handles at once and reconnects" do
    producer = make_producer("linger.ms": 10_000)
    producer.produce_sync(topic: "fork-misc", payload: "connected")
    inherited = producer.produce_async(topic: "fork-misc", payload: "lingering in the parent")

    pid = fork_child do
      handle = producer.produce_async(topic: "fork-misc", payload: "from the child")
      producer.flush(10_000)
      report = handle.wait(max_wait_timeout_ms: 10_000)
      begin
        inherited.wait(max_wait_timeout_ms: 1_000)
        false
      rescue WaterdropFd::RdkafkaError => e
        report.offset >= 0 && e.code == :destroy && !inherited.pending?
      end
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
    producer.flush(10_000)
    expect(inherited.wait(max_wait_timeout_ms: 30_000).offset).to be >= 0
  end

  it "a producer closed before fork stays closed in the child" do
    producer = make_producer
    producer.produce_sync(topic: "fork-misc", payload: "x")
    producer.close
    pid = fork_child do
      producer.produce_sync(topic: "fork-misc", payload: "y")
      false
    rescue WaterDrop::Errors::ProducerClosedError
      true
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
  end

  it "forks while the poller drains and while other threads create and close producers do not deadlock children" do
    busy = make_producer
    busy.produce_sync(topic: "fork-misc", payload: "warm")
    stop = false
    churn = Thread.new do
      until stop
        p = make_producer
        p.produce_sync(topic: "fork-misc", payload: "churn")
        p.close
      end
    end
    flood = Thread.new do
      busy.produce_async(topic: "fork-misc", payload: "flood") until stop
    end
    # 20 children: before broker address resolution was made fork-safe, 1–2 in 10 children
    # inherited glibc's getaddrinfo lock locked and never delivered.
    pids = Array.new(20) do
      sleep 0.02
      fork_child do
        fresh = make_producer
        fresh.produce_sync(topic: "fork-misc", payload: "child fresh").offset >= 0 &&
          busy.produce_sync(topic: "fork-misc", payload: "child inherited").offset >= 0
      end
    end
    statuses = wait_children(pids, timeout: 120)
    stop = true
    [churn, flood].each(&:join)
    expect(statuses.values).to all(eq(0))
  end

  it "reinitialises after a fork that Ruby's _fork hook does not see (IO.popen(\"-\"))" do
    producer = make_producer
    producer.produce_sync(topic: "fork-misc", payload: "parent")
    io = IO.popen("-")
    if io.nil?
      ok = producer.produce_sync(topic: "fork-misc", payload: "popen child").offset >= 0
      $stdout.puts(ok ? "ok" : "bad")
      $stdout.flush
      exit!(0)
    end
    expect(io.read.strip).to eq("ok")
    io.close
  end

  it "reinitialises in a Process.daemon grandchild, and the parent keeps delivering" do
    producer = make_producer
    producer.produce_sync(topic: "fork-misc", payload: "before daemon")
    reader, writer = IO.pipe
    intermediate = fork do
      reader.close
      # nochdir, noclose: the daemon keeps the pipe to report through.
      Process.daemon(true, true)
      report =
        begin
          offset = producer.produce_sync(topic: "fork-misc", payload: "from the daemon").offset
          "ok #{Process.pid} #{offset}"
        rescue StandardError => e
          "failed #{e.class}: #{e.message}"
        end
      writer.puts(report)
      writer.flush
      exit!(0)
    end
    writer.close
    Process.wait(intermediate) # Process.daemon's first process exits at once
    line = reader.wait_readable(60) && reader.gets
    reader.close
    expect(line.to_s).to match(/\Aok \d+ \d+$/)
    daemon_pid = Integer(line.split[1])
    expect(daemon_pid).not_to eq(intermediate)
    expect(producer.produce_sync(topic: "fork-misc", payload: "parent after daemon").offset).to be >= 0
  end

  it "refuses to reuse the parent's transactional.id in a child, with a clear error" do
    producer = make_producer("transactional.id": "fork-tx-#{SecureRandom.hex(4)}")
    producer.produce_sync(topic: "fork-misc", payload: "in a transaction")
    pid = fork_child do
      producer.produce_sync(topic: "fork-misc", payload: "child")
      false
    rescue WaterDrop::Errors::TransactionalProducerForkedError => e
      e.message.include?("transactional.id")
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
  end

  it "lets a child give a transactional producer its own transactional.id and use it" do
    producer = make_producer("transactional.id": "fork-tx-#{SecureRandom.hex(4)}")
    producer.produce_sync(topic: "fork-misc", payload: "parent transaction")
    pid = fork_child do
      producer.config.kafka[:"transactional.id"] = "#{producer.config.kafka[:"transactional.id"]}-#{Process.pid}"
      producer.transaction { producer.produce_async(topic: "fork-misc", payload: "child transaction") }
      producer.produce_sync(topic: "fork-misc", payload: "child").offset >= 0
    end
    expect(wait_children([pid], timeout: 60).values).to eq([0])
    expect(producer.produce_sync(topic: "fork-misc", payload: "parent still works").offset).to be >= 0
  end

  it "closes from a signal trap" do
    producer = make_producer
    producer.produce_sync(topic: "fork-misc", payload: "before trap")
    closed = Queue.new
    old = trap("USR2") do
      producer.close
      closed << producer.status.to_s
    end
    Process.kill("USR2", Process.pid)
    expect(closed.pop).to eq("closed")
  ensure
    trap("USR2", old || "DEFAULT")
  end
end
