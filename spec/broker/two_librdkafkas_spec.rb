# frozen_string_literal: true

require "spec_helper"
require "json"
require "openssl"
require "socket"
require "tmpdir"
require_relative "../support/fiddle_librdkafka"

# Under Karafka a second librdkafka (karafka-rdkafka's shared library) lives in the process.
# Here Debian's librdkafka 2.0 is loaded through Fiddle beside this gem's static 2.12:
# both produce at once, the other library consumes what both wrote, and both make TLS
# handshakes (verifying a CA) against local TLS listeners meanwhile, on the one OpenSSL the
# process has. Nothing may crash, hang, be lost or land in the other library's topic. The
# scenario runs in a child process with a time bound.
RSpec.describe "Living beside another librdkafka in the process", broker: true do
  let(:servers) { ENV.fetch("KAFKA_BOOTSTRAP_SERVERS") }
  let!(:suffix) { SecureRandom.hex(6) }
  let(:count) { 2_000 }

  # A self-signed certificate for 127.0.0.1, and its PEM file (the CA both clients trust).
  def tls_material(dir)
    key = OpenSSL::PKey::RSA.new(2048)
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = 1
    cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/CN=127.0.0.1")
    cert.public_key = key.public_key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    ext = OpenSSL::X509::ExtensionFactory.new(cert, cert)
    cert.add_extension(ext.create_extension("basicConstraints", "CA:TRUE", true))
    cert.add_extension(ext.create_extension("subjectAltName", "IP:127.0.0.1"))
    cert.sign(key, OpenSSL::Digest.new("SHA256"))
    path = File.join(dir, "ca.pem")
    File.write(path, cert.to_pem)
    [key, cert, path]
  end

  # A TLS listener that counts completed handshakes (then drops the connection).
  def tls_listener(key, cert, counter)
    tcp = TCPServer.new("127.0.0.1", 0)
    ctx = OpenSSL::SSL::SSLContext.new
    ctx.key = key
    ctx.cert = cert
    server = OpenSSL::SSL::SSLServer.new(tcp, ctx)
    Thread.new do
      loop do
        conn = server.accept
        counter << 1
        conn.close
      rescue OpenSSL::SSL::SSLError, SystemCallError
        next
      rescue IOError
        break
      end
    end
    [server, tcp.addr[1]]
  end

  def wait_for(timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    sleep 0.05 until yield || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
  end

  it "produces and consumes on both libraries at once, with TLS handshakes on both, nothing mixed" do
    ours_topic = "it-two-ours-#{suffix}"
    theirs_topic = "it-two-theirs-#{suffix}"
    n = count
    reader, writer = IO.pipe
    pid = fork_child do
      reader.close
      Dir.mktmpdir do |dir|
        key, cert, ca = tls_material(dir)
        ours_tls = Queue.new
        theirs_tls = Queue.new
        ours_server, ours_port = tls_listener(key, cert, ours_tls)
        theirs_server, theirs_port = tls_listener(key, cert, theirs_tls)
        tls = { "security.protocol": "ssl", "ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "none" }
        # TLS-capable plaintext configs: the CA is set on both, the broker link is plaintext.
        plain = { "bootstrap.servers": servers, "security.protocol": "plaintext", "ssl.ca.location": ca }

        lib = FiddleLibrdkafka.new
        # TLS clients of both libraries keep reconnecting (handshake, then dropped) while
        # the data flows below.
        ours_tls_producer = WaterDrop::Producer.new do |c|
          c.kafka = tls.merge("bootstrap.servers": "127.0.0.1:#{ours_port}", "reconnect.backoff.ms": 50)
        end
        ours_tls_producer.client
        # (log_level 0: its default logger would print every dropped connection.)
        theirs_tls_client = lib.client(:producer, tls.merge("bootstrap.servers": "127.0.0.1:#{theirs_port}",
                                                             "reconnect.backoff.ms": 50, log_level: 0))

        theirs_producer = lib.client(:producer, plain)
        theirs = Thread.new do
          n.times { |i| theirs_producer.produce(theirs_topic, "theirs-#{i}") }
          theirs_producer.flush(30_000)
        end
        producer = WaterDrop::Producer.new { |c| c.kafka = plain }
        handles = Array.new(n) { |i| producer.produce_async(topic: ours_topic, payload: "ours-#{i}") }
        ours_errors = handles.map { |h| h.wait(raise_response_error: false) }.count(&:error)
        theirs_undelivered = theirs.value

        consumer = lib.client(:consumer, plain.merge("group.id": "it-two-#{suffix}", "auto.offset.reset": "earliest"))
        consumer.subscribe(ours_topic, theirs_topic)
        consumed = consumer.poll_messages(2 * n, timeout: 60)
        extra = consumer.poll_messages(1, timeout: 2)

        wait_for(10) { ours_tls.size >= 2 && theirs_tls.size >= 2 }
        result = {
          "versions" => [WaterdropFd::Native.librdkafka_version, lib.version],
          "ours_delivered" => n - ours_errors, "ours_errors" => ours_errors,
          "theirs_undelivered" => theirs_undelivered,
          "consumed" => consumed.group_by(&:topic).transform_values { |ms| ms.map(&:payload).sort },
          "extra" => extra.size,
          "tls_handshakes" => [ours_tls.size, theirs_tls.size]
        }
        consumer.close
        theirs_producer.close
        theirs_tls_client.close
        producer.close
        ours_tls_producer.close
        ours_server.close
        theirs_server.close
        writer.write(JSON.generate(result))
      end
      writer.close
      true
    end
    writer.close
    statuses = wait_children([pid], timeout: 180)
    result = JSON.parse(reader.read)
    reader.close
    expect(statuses.values).to eq([0])

    if ENV["SHOW_FIGURES"]
      figures = result.merge("consumed" => result["consumed"].transform_values(&:size))
      puts "two librdkafkas: #{figures.to_json}"
    end
    ours, theirs = result["versions"]
    expect(ours).to start_with("2.12.")
    # The system's librdkafka (Debian's: 2.0 on bookworm, 2.8 on trixie), not ours.
    expect(theirs).to match(/\A\d+\.\d+\.\d+\z/)
    expect(theirs).not_to eq(ours)
    expect(result.values_at("ours_delivered", "ours_errors", "theirs_undelivered")).to eq([n, 0, 0])
    expect(result["consumed"].keys.sort).to eq([ours_topic, theirs_topic].sort)
    expect(result["consumed"][ours_topic]).to eq(Array.new(n) { |i| "ours-#{i}" }.sort)
    expect(result["consumed"][theirs_topic]).to eq(Array.new(n) { |i| "theirs-#{i}" }.sort)
    expect(result["extra"]).to eq(0)
    expect(result["tls_handshakes"]).to all(be >= 2)
  end
end
