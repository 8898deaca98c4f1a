# frozen_string_literal: true

require "net/http"
require "set"
require "socket"
require "tmpdir"

# Runs Debian's puma on a spec fixture and drives load at it.
class PumaCluster
  # A stopping worker's Puma answered for its closed listener (see #resent).
  class WorkerStopping < StandardError; end

  FIXTURES = File.expand_path("../fixtures/puma", __dir__)

  attr_reader :log_path

  # Ids whose request had to be sent again because the connection closed before an answer.
  # Puma 6 can close a stopping worker's connection after the app handled the request
  # (its log then shows "Error reached top of thread-pool: closed stream"), so a resent id
  # may have been produced by both attempts: two produce calls, not a producer duplicate.
  # Puma 6.6 can also fail a stopping worker's response after the app returned it (see
  # #stopping_answers); those ids are recorded here too.
  attr_reader :resent

  # Ids answered with Puma's own 500 for its closed listener, with how many times: a
  # stopping worker's `prepare_response` asks the listener (already closed for the restart)
  # whether another connection waits, gets IOError, and answers 500 "Puma caught this
  # error: closed stream (IOError)" with a backtrace in puma/request.rb. The client resends
  # the id, as it would any 5xx. When the app itself raised, Puma logs "Rack app" (the spec
  # checks there is none), so each of these answers stands for one message the app produced.
  attr_reader :stopping_answers

  # Ids resent because the connection closed without an answer (the first attempt may or
  # may not have produced).
  attr_reader :resent_unanswered

  # Puma's own 500 for its closed listener (see #resent), never the app's answer.
  PUMA_CLOSED_LISTENER = %r{\APuma caught this error: closed stream \(IOError\)\n[^\n]*/puma/request\.rb:\d+:in}

  def initialize(config:, topic:, bootstrap_servers:)
    @dir = Dir.mktmpdir("puma-spec")
    @port = SpecHelpers.unused_port
    @log_path = File.join(@dir, "puma.log")
    @pidfile = File.join(@dir, "puma.pid")
    @resent = Set.new
    @resent_unanswered = Set.new
    @stopping_answers = Hash.new(0)
    env = {
      "PUMA_SPEC_TOPIC" => topic, "PUMA_SPEC_PORT" => @port.to_s, "PUMA_SPEC_PIDFILE" => @pidfile,
      "KAFKA_BOOTSTRAP_SERVERS" => bootstrap_servers
    }
    @pid = Process.spawn(env, "puma", "-C", File.join(FIXTURES, config), File.join(FIXTURES, "config.ru"),
                         out: @log_path, err: @log_path, chdir: FIXTURES)
    wait_ready
  end

  def log = File.read(@log_path)

  def master_pid = Integer(File.read(@pidfile))

  # Sends a signal to the master (USR1: phased restart, URG: refork from worker 0).
  def signal(sig) = Process.kill(sig, master_pid)

  # Sends `ids` as requests from `threads` client threads; retries an id whose request got
  # no response (connection closed by a restarting worker) or Puma's closed-listener 500,
  # and records it in #resent.
  # Returns the responses.
  def load(ids, threads: 8)
    queue = Queue.new
    ids.each { |id| queue << id }
    threads.times { queue << nil }
    results = Queue.new
    Array.new(threads) do
      Thread.new do
        http = nil
        while (id = queue.pop)
          attempts = 0
          begin
            # max_retries 0: Net::HTTP would otherwise resend a GET by itself, unrecorded.
            http ||= Net::HTTP.start("127.0.0.1", @port, open_timeout: 5, read_timeout: 60, max_retries: 0)
            res = http.get("/?id=#{id}")
            raise WorkerStopping if res.code == "500" && res.body.match?(PUMA_CLOSED_LISTENER)

            results << [id, res.code, res.body]
          rescue EOFError, Errno::ECONNRESET, Errno::ECONNREFUSED, Errno::EPIPE, Net::ReadTimeout, IOError,
                 WorkerStopping => e
            close_quietly(http)
            http = nil
            attempts += 1
            @resent << id
            e.is_a?(WorkerStopping) ? @stopping_answers[id] += 1 : @resent_unanswered << id
            raise "request #{id} failed #{attempts} times: #{e.class}" if attempts > 50

            sleep 0.1
            retry
          end
        end
        http&.finish
      end
    end.each(&:join)
    Array.new(results.size) { results.pop }
  end

  def stop
    Process.kill("TERM", @pid)
    Process.wait(@pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end

  private

  def close_quietly(http)
    http&.finish if http&.started?
  rescue IOError, SystemCallError
    nil
  end

  def wait_ready
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
    loop do
      booted = log.scan(/Worker \d+ \(PID: \d+\) booted/).size
      return if booted >= 4

      raise "puma did not boot 4 workers in 60 s:\n#{log}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.1
    end
  end
end
