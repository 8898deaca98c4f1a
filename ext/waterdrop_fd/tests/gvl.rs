//! `gvl::wait_readable` inside a real Ruby VM: it times out, it wakes on a pipe, it lets
//! other Ruby threads run while it waits, and a `Thread#raise` interrupts it.
//!
//! Every `#[ruby_test]` runs on the one OS thread that owns the VM (rb-sys-test-helpers),
//! which is Ruby's main thread.

mod common;

use std::time::{Duration, Instant};

use common::{eval, ruby};
use rb_sys_test_helpers::ruby_test;
use waterdrop_fd::gvl::{self, Wait};
use waterdrop_fd::pipe::Pipe;

#[ruby_test]
fn wait_readable_times_out_when_nothing_is_written() {
    let ruby = ruby();
    let pipe = Pipe::new().unwrap();
    let started = Instant::now();
    let outcome = gvl::wait_readable(&ruby, &[pipe.read_fd()], Some(Duration::from_millis(150)))
        .expect("no interrupt was sent");
    let waited = started.elapsed();
    assert_eq!(outcome, Wait::TimedOut);
    assert!(
        waited >= Duration::from_millis(150),
        "returned early, after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(2),
        "returned late, after {waited:?}"
    );
}

#[ruby_test]
fn wait_readable_with_no_fds_is_a_sleep_that_times_out() {
    let ruby = ruby();
    let started = Instant::now();
    let outcome = gvl::wait_readable(&ruby, &[], Some(Duration::from_millis(50))).unwrap();
    assert_eq!(outcome, Wait::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[ruby_test]
fn wait_readable_is_ready_at_once_when_the_pipe_was_signalled_before() {
    let ruby = ruby();
    let idle = Pipe::new().unwrap();
    let pipe = Pipe::new().unwrap();
    pipe.signal();
    let started = Instant::now();
    let outcome = gvl::wait_readable(
        &ruby,
        &[idle.read_fd(), pipe.read_fd()],
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    assert_eq!(
        outcome,
        Wait::Ready(vec![1]),
        "only the signalled pipe (index 1) is ready"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // The wait does not consume the byte: the caller drains.
    assert_eq!(pipe.drain(), 1);
}

#[ruby_test]
fn wait_readable_wakes_when_another_native_thread_signals_the_pipe() {
    let ruby = ruby();
    let pipe = std::sync::Arc::new(Pipe::new().unwrap());
    let signaller = {
        let pipe = std::sync::Arc::clone(&pipe);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            pipe.signal();
        })
    };
    let started = Instant::now();
    let outcome =
        gvl::wait_readable(&ruby, &[pipe.read_fd()], Some(Duration::from_secs(5))).unwrap();
    let waited = started.elapsed();
    signaller.join().unwrap();
    assert_eq!(outcome, Wait::Ready(vec![0]));
    assert!(
        waited >= Duration::from_millis(90),
        "woke before the signal: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "the signal did not wake the wait: {waited:?}"
    );
    assert_eq!(pipe.drain(), 1);
}

#[ruby_test]
fn wait_readable_with_no_timeout_waits_for_the_signal() {
    let ruby = ruby();
    let pipe = std::sync::Arc::new(Pipe::new().unwrap());
    let signaller = {
        let pipe = std::sync::Arc::clone(&pipe);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            pipe.signal();
        })
    };
    let outcome = gvl::wait_readable(&ruby, &[pipe.read_fd()], None).unwrap();
    signaller.join().unwrap();
    assert_eq!(outcome, Wait::Ready(vec![0]));
}

#[ruby_test]
fn another_ruby_thread_runs_while_wait_readable_waits() {
    let ruby = ruby();
    eval::<i64>(
        &ruby,
        "$gvl_counter = 0; $gvl_counter_thread = Thread.new { loop { $gvl_counter += 1 } }; 0",
    );
    let pipe = Pipe::new().unwrap();
    let before = eval::<i64>(&ruby, "$gvl_counter");
    let outcome =
        gvl::wait_readable(&ruby, &[pipe.read_fd()], Some(Duration::from_millis(300))).unwrap();
    let after = eval::<i64>(&ruby, "$gvl_counter");
    eval::<i64>(&ruby, "$gvl_counter_thread.kill.join; 0");
    assert_eq!(outcome, Wait::TimedOut);
    let progress = after - before;
    eprintln!("counter thread progress during a 300 ms wait: {progress}");
    // With the GVL held for the whole wait the counter thread could not run at all.
    assert!(
        progress > 100_000,
        "the counter thread barely ran while the main thread waited: {progress} increments"
    );
}

#[ruby_test]
fn thread_raise_interrupts_wait_readable_at_once() {
    let ruby = ruby();
    eval::<i64>(
        &ruby,
        "$gvl_raiser = Thread.new { sleep 0.2; $gvl_raised_at = Process.clock_gettime(Process::CLOCK_MONOTONIC); \
         Thread.main.raise(RuntimeError, 'interrupted by test') }; 0",
    );
    let pipe = Pipe::new().unwrap();
    let started = Instant::now();
    let outcome = gvl::wait_readable(&ruby, &[pipe.read_fd()], Some(Duration::from_secs(5)));
    let returned_at: f64 = ruby
        .eval("Process.clock_gettime(Process::CLOCK_MONOTONIC)")
        .unwrap();
    let waited = started.elapsed();
    eval::<i64>(&ruby, "$gvl_raiser.join; 0");
    let err = outcome.expect_err("Thread#raise must end the wait with the exception");
    assert!(
        err.to_string().contains("interrupted by test"),
        "unexpected error: {err}"
    );
    let raised_at: f64 = ruby.eval("$gvl_raised_at").unwrap();
    let latency = returned_at - raised_at;
    eprintln!(
        "wait_readable interrupted {:.1} ms after Thread#raise",
        latency * 1000.0
    );
    assert!(
        waited < Duration::from_secs(4),
        "the wait ran to its timeout: {waited:?}"
    );
    assert!(latency < 0.1, "interrupt took {:.1} ms", latency * 1000.0);
}

/// Aborts the test binary when `f` has not returned within `limit`: a wait that spins for
/// ever fails loudly instead of freezing `cargo test`.
fn within<R>(limit: Duration, what: &'static str, f: impl FnOnce() -> R) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let done = Arc::new(AtomicBool::new(false));
    let watched = Arc::clone(&done);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        if !watched.load(Ordering::Acquire) {
            eprintln!("{what}: still running after {limit:?}");
            std::process::abort();
        }
    });
    let result = f();
    done.store(true, Ordering::Release);
    result
}

#[ruby_test]
fn a_poll_failure_that_is_not_a_signal_raises_a_system_error_instead_of_retrying_for_ever() {
    let ruby = ruby();
    // poll(2) refuses more fds than RLIMIT_NOFILE with EINVAL, every time it is asked.
    let pipe = Pipe::new().unwrap();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let lowered = libc::rlimit {
        rlim_cur: 64,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above; lowering the soft limit below the open fds is allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
    let fds = vec![pipe.read_fd(); 100];
    let outcome = within(Duration::from_secs(10), "wait_readable with EINVAL", || {
        gvl::wait_readable(&ruby, &fds, Some(Duration::from_secs(1)))
    });
    // SAFETY: restores the limit read above.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    let err = outcome.expect_err("poll(2) cannot succeed with 101 fds and a limit of 64");
    let system_error: magnus::ExceptionClass = eval(&ruby, "WaterdropFd::SystemError");
    assert!(
        err.is_kind_of(system_error),
        "a WaterdropFd::SystemError: {err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("poll(2)") && message.contains("EINVAL"),
        "the message says what failed: {message}"
    );
}
