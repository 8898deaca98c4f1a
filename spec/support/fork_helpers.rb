# frozen_string_literal: true

require "open3"

# Helpers for specs that fork.
module ForkHelpers
  # Forks a child that runs the block and exits with 0 when the block returns true.
  # The child dumps its threads' backtraces to stderr on SIGUSR1 (used on a timeout).
  def fork_child(&block)
    fork do
      trap("USR1") do
        Thread.list.each { |t| warn "#{t.inspect}\n  #{(t.backtrace || []).join("\n  ")}" }
      end
      ok = begin
        block.call
      rescue Exception => e # rubocop:disable Lint/RescueException
        warn "child #{Process.pid} failed: #{e.class}: #{e.message}\n#{e.backtrace&.first(15)&.join("\n")}"
        false
      end
      $stdout.flush
      $stderr.flush
      exit!(ok ? 0 : 1)
    end
  end

  # Waits for children; a child still running at the deadline gets its threads dumped and
  # is killed, and the spec fails. Returns {pid => exit status}.
  def wait_children(pids, timeout:)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    statuses = {}
    pending = pids.dup
    until pending.empty?
      pending.reject! do |pid|
        done = Process.waitpid(pid, Process::WNOHANG)
        statuses[pid] = $?.exitstatus if done
        done
      end
      break if pending.empty?

      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        begin
          pending.each { |pid| signal_quietly("USR1", pid) }
          sleep 0.5
          # Two native dumps say what the hang is; more would only spend the example's time.
          pending.first(2).each { |pid| dump_native_threads(pid) }
        ensure
          # Whatever happened above (a Timeout, a failed dump): no hung child outlives this.
          pending.each { |pid| kill_and_reap(pid) }
        end
        raise "children #{pending.inspect} did not finish within #{timeout}s (thread dumps above)"
      end
      sleep 0.05
    end
    statuses
  end

  # Prints every native thread's stack of a hung process with gdb, when there is one: a
  # child stuck in a C lock while holding the GVL never runs the USR1 trap above. Bounded
  # (gdb is killed after 30 s); a failure to dump is reported, never raised.
  def dump_native_threads(pid)
    gdb = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, "gdb") }.find { |f| File.executable?(f) }
    return warn("child #{pid}: no gdb for a native thread dump") unless gdb

    out, = Open3.capture2e("timeout", "-k", "5", "30", gdb, "-p", pid.to_s, "-batch", "-nx",
                           "-iex", "set debuginfod enabled off", "-ex", "set pagination off",
                           "-ex", "thread apply all bt 40")
    lines = out.scrub.lines.grep_v(/\A\[New LWP|\AReading symbols/)
    warn "child #{pid}: native threads (gdb):\n#{lines.join}"
  rescue SystemCallError, IOError => e
    warn "child #{pid}: no native thread dump (#{e.class}: #{e.message})"
  end

  def kill_and_reap(pid)
    signal_quietly("KILL", pid)
    Process.waitpid(pid)
  rescue Errno::ECHILD
    nil
  end

  # A child that ended meanwhile is no error.
  def signal_quietly(signal, pid)
    Process.kill(signal, pid)
  rescue Errno::ESRCH
    nil
  end
end

RSpec.configure { |c| c.include ForkHelpers }
