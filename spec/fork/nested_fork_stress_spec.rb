# frozen_string_literal: true

require "spec_helper"

# 200 nested forks (each child forks a grandchild) while three threads churn librdkafka
# clients and the brokers of a live producer go down and up, so its broker threads
# reconnect (and resolve addresses) all the time. Not one fork may hang.
RSpec.describe "Nested forks under client churn (stress)", timeout: 300 do
  forks = 200

  # A mock cluster in a process of its own whose brokers go down and up in turn (a cluster
  # in the forking process would hand its listening sockets to every child, and a broker
  # could not come back up on its port while a child holds it). USR1 ends the flapping
  # (every broker up); TERM ends the process, after it wrote how many times a broker
  # went down and up.
  def start_flapping_cluster
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      cluster = WaterdropFd::Testing::MockCluster.new(brokers: 2)
      cluster.create_topic("stress", partitions: 2)
      writer.puts(cluster.bootstrap_servers)
      writer.flush
      flaps = 0
      flapping = true
      trap("USR1") { flapping = false }
      trap("TERM") do
        writer.puts(flaps)
        writer.flush
        exit!(0)
      end
      loop do
        if flapping
          broker = flaps % 2 + 1
          cluster.broker_down(broker)
          sleep 0.05
          cluster.broker_up(broker)
          flaps += 1
        end
        sleep 0.05
      end
    end
    writer.close
    [pid, reader, reader.gets.strip]
  end

  it "#{forks} nested forks while three threads churn clients and broker threads reconnect: 0 hangs" do
    pid = fork_child do
      cluster_pid, cluster_out, servers = start_flapping_cluster
      settings = {
        "bootstrap.servers": servers,
        "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 50, "socket.connection.setup.timeout.ms": 1_000
      }
      new_producer = lambda do
        WaterDrop::Producer.new do |config|
          config.kafka = settings.dup
          config.max_wait_timeout = 10_000
          config.logger = Logger.new(File::NULL)
        end
      end
      live = new_producer.call
      live.client # connects; its broker threads reconnect for as long as the brokers flap

      stop = false
      counts = Hash.new(0)
      threads = [
        # Producers created, connected (rd_kafka_new; broker threads resolving) and closed
        # (rd_kafka_destroy on a worker thread); force: their messages may wait for a
        # flapping leader, and the churn is about creating and destroying clients.
        Thread.new do
          until stop
            p = new_producer.call
            p.produce_async(topic: "stress", payload: "churn")
            p.close(force: true)
            counts[:producers_closed] += 1
          end
        end,
        # Native clients dropped unregistered (as when a connect fails half-way): GC hands
        # each to a destroy thread of its own (rd_kafka_destroy off any Ruby thread). A
        # connected producer dropped without close would not do: it stays registered with
        # its poller and keeps its client, threads and sockets until exit (README, "Garbage
        # collection"), so dropping one every 10 ms only ran the process out of fds.
        Thread.new do
          until stop
            new_producer.call.send(:build_native_client)
            GC.start if ((counts[:clients_dropped] += 1) % 20).zero?
            sleep 0.01
          end
        end,
        # Mock clusters: rd_kafka_new and destroy on native worker threads.
        Thread.new do
          until stop
            WaterdropFd::Testing::MockCluster.new(brokers: 1).close
            counts[:mock_clusters] += 1
          end
        end,
        # Traffic on the live producer.
        Thread.new do
          until stop
            live.produce_async(topic: "stress", payload: "live")
            counts[:live_messages] += 1
            sleep 0.005
          end
        end
      ]

      base = WaterdropFd::Native.fork_generation
      result = nested_forks(forks, bound: 10, pause: 0.01, stop_after_hangs: 3,
                                   grandchild_check: -> { WaterdropFd::Native.fork_generation == base + 2 })
      stop = true
      threads.each(&:join)
      Process.kill("USR1", cluster_pid)
      delivered = live.produce_sync(topic: "stress", payload: "after the forks").offset >= 0
      live.close
      Process.kill("TERM", cluster_pid)
      counts[:broker_flaps] = cluster_out.gets.to_i
      Process.wait(cluster_pid)
      cluster_pid = nil
      fds = Dir.children("/proc/self/fd").size
      warn "nested fork stress: #{result.merge(churned: counts, delivered_after: delivered, open_fds_after: fds)}"
      result[:hung].zero? && result[:failed].zero? && result[:forked] == forks && delivered
    ensure
      Process.kill("KILL", cluster_pid) if cluster_pid
    end
    expect(wait_children([pid], timeout: 240).values).to eq([0])
  end
end
