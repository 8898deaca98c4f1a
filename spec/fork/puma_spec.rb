# frozen_string_literal: true

require "spec_helper"
require "open3"

# A real Puma in cluster mode against the real Apache Kafka (KAFKA_BOOTSTRAP_SERVERS).
RSpec.describe "A producer created before Puma forks its workers", broker: true, timeout: 900 do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let(:topic) { "it-puma-#{SecureRandom.hex(4)}" }

  def read_back(topic)
    out, err, status = Open3.capture3("kcat", "-b", servers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                                      "-f", "%s\n")
    raise "kcat: #{err}" unless status.success?

    out.lines.map(&:chomp).reject { |p| p.start_with?("boot-") }
  end

  # Every id exactly once, except for ids the client had to send again (PumaCluster#resent):
  # one whose connection closed without an answer may be there twice (once per produce
  # call), and one answered with Puma's closed-listener 500 must be there once per such
  # answer plus once for the answer that counted (the app produced it every time).
  def check(ids, responses, payloads, label, puma)
    ok = responses.select { |_, code, _| code == "200" }.map(&:first)
    tally = payloads.tally
    duplicates = tally.select { |_, n| n > 1 }.keys
    stopping = puma.stopping_answers.reject { |id, _| puma.resent_unanswered.include?(id) }
    resent_twice = duplicates.select { |id| puma.resent.include?(id) && tally[id] == 2 }
    missing = ok - payloads
    puts "#{label}: sent #{ids.size}, acknowledged #{ok.size}, read back #{payloads.size}, " \
         "duplicates #{duplicates.size} (#{resent_twice.size} of them sent twice), missing #{missing.size}, " \
         "resent #{puma.resent.size} (#{puma.stopping_answers.size} after Puma's closed-listener 500)"
    responses.reject { |_, code, _| code == "200" }.first(5).each do |id, code, body|
      puts "#{label}: #{id} answered #{code}: #{body.to_s[0, 300].inspect}"
    end
    expect(ok.size).to eq(ids.size)
    expect(stopping.reject { |id, answers| tally[id] == answers + 1 }).to be_empty
    expect(duplicates - resent_twice - stopping.keys).to be_empty
    expect(missing).to be_empty
    expect(payloads.uniq.sort).to eq(ids.sort)
  end

  it "preload_app! + nakayoshi_fork: 20,000 requests, a phased restart mid-load; every id exactly once" do
    puma = PumaCluster.new(config: "preload.rb", topic: topic, bootstrap_servers: servers)
    ids = Array.new(20_000) { |i| "pre-#{i}" }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    restarter = Thread.new do
      sleep 2
      puma.signal("USR1")
    end
    responses = puma.load(ids)
    restarter.join
    # With preload_app! Puma turns the phased restart into a full restart: 4 more boots.
    wait_until(timeout: 120, interval: 0.2) { puma.log.scan(/Worker \d+ \(PID: \d+\) booted/).size >= 8 }
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    puma.stop
    log = puma.log
    boots = log.scan(/Worker \d+ \(PID: \d+\) booted/).size
    puts "preload: #{ids.size} requests in #{elapsed.round(1)} s, #{boots} worker boots"
    expect(boots).to be >= 8
    expect(log).not_to match(/\[BUG\]|Segmentation fault|SIGSEGV|deadlock/i)
    expect(log).not_to match(/Worker \d+ \(PID: \d+\) .*(died|terminated unexpectedly)|Terminating timed out worker/)
    expect(log).not_to match(/Rack app/) # the app raised (Puma logs it so)
    check(ids, responses, read_back(topic), "preload", puma)
  end

  it "fork_worker: workers forked from worker 0 with a live producer, a refork mid-load; every id exactly once" do
    puma = PumaCluster.new(config: "fork_worker.rb", topic: topic, bootstrap_servers: servers)
    ids = Array.new(10_000) { |i| "fw-#{i}" }
    refork = Thread.new do
      sleep 2
      puma.signal("URG")
    end
    responses = puma.load(ids)
    refork.join
    # The refork replaces workers 1..3 one at a time; let it finish before stopping.
    wait_until(timeout: 120, interval: 0.2) { puma.log.scan(/Worker \d+ \(PID: \d+\) booted/).size >= 7 }
    puma.stop
    log = puma.log
    boots = log.scan(/Worker \d+ \(PID: \d+\) booted/).size
    puts "fork_worker: #{boots} worker boots"
    expect(boots).to be >= 7 # 4 at start, workers 1..3 forked again from worker 0
    expect(log).not_to match(/\[BUG\]|Segmentation fault|SIGSEGV|deadlock/i)
    expect(log).not_to match(/Rack app/) # the app raised (Puma logs it so)
    check(ids, responses, read_back(topic), "fork_worker", puma)
  end
end
