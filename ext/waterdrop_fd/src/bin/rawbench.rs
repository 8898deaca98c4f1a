//! The limit: librdkafka driven from Rust with no Ruby, the same way the gem drives it
//! (event-mode delivery reports on each producer's main queue, one poller thread that
//! waits on every producer's io-event pipe). `rake bench` runs it beside the gem, on the
//! same broker, in the same run.
//!
//!   rawbench throughput <bootstrap> <topic> <producers> <messages-per-producer> <bytes> [k=v ...]
//!   rawbench latency    <bootstrap> <topic> <messages> <bytes> [k=v ...]
//!
//! Prints one line of `key=value` pairs.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use waterdrop_fd::kafka::client::{Client, OutMessage};
use waterdrop_fd::kafka::conf::Conf;
use waterdrop_fd::kafka::event::EventKind;
use waterdrop_fd::pipe::Pipe;

fn client(bootstrap: &str, extra: &[(String, String)]) -> Client {
    let mut conf = Conf::new();
    let base = [
        ("bootstrap.servers", bootstrap),
        ("client.id", "waterdrop"),
        ("statistics.interval.ms", "0"),
        ("message.timeout.ms", "150000"),
        ("socket.nagle.disable", "true"),
        ("log.queue", "true"),
    ];
    for (k, v) in base {
        conf.set(k, v).expect("base setting");
    }
    for (k, v) in extra {
        conf.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    conf.enable_events(
        rdkafka_sys::RD_KAFKA_EVENT_DR
            | rdkafka_sys::RD_KAFKA_EVENT_ERROR
            | rdkafka_sys::RD_KAFKA_EVENT_LOG,
    );
    Client::new_producer(conf).expect("client")
}

/// Serves every client's queue, returning the number of delivery reports (and errors) seen.
fn serve(c: &Client, delivered: &AtomicUsize, failed: &AtomicUsize) {
    while let Ok(Some(kind)) = c.poll_event() {
        if let EventKind::Deliveries(list) = kind {
            let bad = list.iter().filter(|d| d.err != 0).count();
            failed.fetch_add(bad, Ordering::Relaxed);
            delivered.fetch_add(list.len() - bad, Ordering::Relaxed);
        }
    }
}

/// A message with default settings (any partition, no key, no headers).
fn message<'a>(topic: &'a [u8], payload: &'a [u8], opaque: usize) -> OutMessage<'a> {
    OutMessage {
        topic,
        topic_config: 0,
        payload: Some(payload),
        key: None,
        partition: -1,
        timestamp_ms: 0,
        headers: &[],
        opaque,
    }
}

fn wait_fds(fds: &[RawFd], timeout_ms: i32) {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` is an owned, correctly sized pollfd array.
    unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
}

fn throughput(
    bootstrap: &str,
    topic: &str,
    producers: usize,
    per: usize,
    bytes: usize,
    extra: &[(String, String)],
) {
    let clients: Vec<Arc<Client>> = (0..producers)
        .map(|_| Arc::new(client(bootstrap, extra)))
        .collect();
    let pipes: Vec<Pipe> = clients
        .iter()
        .map(|c| {
            let p = Pipe::new().expect("pipe");
            c.set_io_event_fd(p.write_fd()).expect("io events");
            p
        })
        .collect();
    // Warm up (metadata, connections), like the gem's benchmark does: one delivered
    // message per producer. In event mode nobody else serves the queue, so serve it here.
    for (c, p) in clients.iter().zip(&pipes) {
        let msg = message(topic.as_bytes(), b"warm", 0);
        c.produce(&msg).expect("warm-up produce");
        let (ok, bad) = (AtomicUsize::new(0), AtomicUsize::new(0));
        while ok.load(Ordering::Relaxed) + bad.load(Ordering::Relaxed) == 0 {
            wait_fds(&[p.read_fd()], 100);
            p.drain();
            serve(c, &ok, &bad);
        }
    }
    let delivered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let total = producers * per;
    let payload = vec![b'x'; bytes];
    let started = Instant::now();
    let poller = {
        let clients = clients.clone();
        let fds: Vec<RawFd> = pipes.iter().map(|p| p.read_fd()).collect();
        let delivered = Arc::clone(&delivered);
        let failed = Arc::clone(&failed);
        std::thread::spawn(move || {
            while delivered.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < total {
                wait_fds(&fds, 1000);
                for c in &clients {
                    serve(c, &delivered, &failed);
                }
            }
        })
    };
    let producing: Vec<_> = clients
        .iter()
        .map(|c| {
            let c = Arc::clone(c);
            let payload = payload.clone();
            let topic = topic.to_owned();
            std::thread::spawn(move || {
                for i in 0..per {
                    let msg = message(topic.as_bytes(), &payload, i + 1);
                    loop {
                        match c.produce(&msg) {
                            Ok(()) => break,
                            Err(_) => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                }
            })
        })
        .collect();
    for t in producing {
        t.join().expect("producer thread");
    }
    let produced_in = started.elapsed();
    poller.join().expect("poller thread");
    let elapsed = started.elapsed();
    for p in &pipes {
        p.drain();
    }
    for c in &clients {
        c.set_io_event_fd(-1).ok();
        c.destroy();
    }
    println!(
        "mode=raw producers={producers} messages={total} seconds={:.6} msgs_per_sec={:.0} produce_us_per_msg={:.3} failed={}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        produced_in.as_secs_f64() * 1e6 / per as f64,
        failed.load(Ordering::Relaxed)
    );
}

fn latency(bootstrap: &str, topic: &str, count: usize, bytes: usize, extra: &[(String, String)]) {
    let c = client(bootstrap, extra);
    let pipe = Pipe::new().expect("pipe");
    c.set_io_event_fd(pipe.write_fd()).expect("io events");
    let payload = vec![b'x'; bytes];
    let mut samples = Vec::with_capacity(count);
    let delivered = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    for i in 0..(count + 20) {
        let msg = message(topic.as_bytes(), &payload, i + 1);
        let before = delivered.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
        let t = Instant::now();
        c.produce(&msg).expect("produce");
        while delivered.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) == before {
            wait_fds(&[pipe.read_fd()], 1000);
            pipe.drain();
            serve(&c, &delivered, &failed);
        }
        if i >= 20 {
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    c.set_io_event_fd(-1).ok();
    c.destroy();
    println!(
        "mode=raw messages={count} p50_us={:.1} p99_us={:.1} failed={}",
        pct(0.5),
        pct(0.99),
        failed.load(Ordering::Relaxed)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: rawbench throughput BOOTSTRAP TOPIC PRODUCERS MESSAGES BYTES [k=v ...] | latency BOOTSTRAP TOPIC MESSAGES BYTES [k=v ...]";
    let extra = |from: usize| -> Vec<(String, String)> {
        args.iter()
            .skip(from)
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    };
    let num = |i: usize| -> usize {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{usage}"))
    };
    match args.get(1).map(String::as_str) {
        Some("throughput") => throughput(&args[2], &args[3], num(4), num(5), num(6), &extra(7)),
        Some("latency") => latency(&args[2], &args[3], num(4), num(5), &extra(6)),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
