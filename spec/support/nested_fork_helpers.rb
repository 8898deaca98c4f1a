# frozen_string_literal: true

# Nested forks (a child that forks a grandchild), the way Puma's `fork_worker`, Pitchfork's
# refork and Resque use them, each bounded in time.
module NestedForkHelpers
  # Forks `count` children one after the other. Each child forks a grandchild that exits
  # with 0 when `grandchild_check` (run in the grandchild) returns true, and the child exits
  # with its grandchild's status. A child still running `bound` seconds after it was forked
  # is killed and counted as hung; after `stop_after_hangs` hangs no more children are made.
  # `pause` seconds pass between two children.
  # @return [Hash] `{forked:, hung:, failed:, seconds:}`
  def nested_forks(count, bound:, stop_after_hangs: count, pause: 0, grandchild_check: -> { true })
    started = monotonic_now
    forked = hung = failed = 0
    count.times do
      pid = fork do
        grandchild = fork { exit!(grandchild_check.call ? 0 : 1) }
        _, status = Process.wait2(grandchild)
        exit!(status.success? ? 0 : 1)
      end
      forked += 1
      case wait_bounded(pid, bound)
      when :hung then hung += 1
      when :failed then failed += 1
      end
      break if hung >= stop_after_hangs

      sleep(pause) if pause.positive?
    end
    { forked: forked, hung: hung, failed: failed, seconds: (monotonic_now - started).round(1) }
  end

  private

  # @return [:ok, :failed, :hung]
  def wait_bounded(pid, bound)
    deadline = monotonic_now + bound
    loop do
      _, status = Process.wait2(pid, Process::WNOHANG)
      return status.success? ? :ok : :failed if status

      if monotonic_now > deadline
        Process.kill("KILL", pid)
        Process.wait(pid)
        return :hung
      end
      sleep 0.002
    end
  end

  def monotonic_now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

RSpec.configure { |c| c.include NestedForkHelpers }
