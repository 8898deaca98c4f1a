//! Poller bookkeeping (the registry behind `WaterDrop::Polling::Poller`), driven through
//! the native class in an embedded VM without a running loop: who must start the thread,
//! duplicate registrations, retiring without a loop, and forgetting a parent's registry
//! after a fork generation change.

mod common;

use common::{eval, ruby};
use magnus::Ruby;
use rb_sys_test_helpers::ruby_test;

fn setup(ruby: &Ruby) {
    common::load_extension(
        ruby,
        r#"
                class PollerTestDispatcher
                  %i[delivered error statistics oauthbearer_token_refresh log callback_failed].each do |m|
                    define_method(m) { |*| nil }
                  end
                end
                $poller_cluster = WaterdropFd::Testing::MockCluster._new(1)
                $poller_servers = $poller_cluster.bootstrap_servers
                def poller_test_producer
                  WaterdropFd::Native::Producer.new([["bootstrap.servers", $poller_servers]],
                                                    PollerTestDispatcher.new, false)
                end
                nil
                "#,
    );
}

#[ruby_test]
fn the_first_registration_asks_for_the_thread_and_duplicates_are_refused() {
    let ruby = ruby();
    setup(&ruby);
    let result: Vec<String> = eval(
        &ruby,
        r#"
        poller = WaterdropFd::Native::Poller.new(91)
        a = poller_test_producer
        b = poller_test_producer
        first = poller.register(a, 100, 1_000)
        second = poller.register(b, 100, 1_000)
        duplicate = begin
          poller.register(a, 100, 1_000)
          "accepted"
        rescue ArgumentError => e
          e.message
        end
        counted = poller.count
        running = poller.running?
        cleared = poller.clear
        # The first register hands out the token of the thread to start; later ones nil.
        out = [first.is_a?(Integer), second.nil?, duplicate, counted, running, cleared, poller.count,
               poller.running?].map(&:to_s)
        [a, b].each(&:destroy)
        out
        "#,
    );
    assert_eq!(
        result,
        vec![
            "true",
            "true",
            "this producer is already registered with this poller",
            "2",
            "true",
            "2",
            "0",
            "false"
        ]
    );
}

#[ruby_test]
fn unregistering_without_a_loop_retires_at_once() {
    let ruby = ruby();
    setup(&ruby);
    let result: Vec<String> = eval(
        &ruby,
        r#"
        poller = WaterdropFd::Native::Poller.new(92)
        a = poller_test_producer
        token = poller.register(a, 100, 1_000)
        # No loop ever ran, and the thread ended while the process exits (no successor):
        # what a killed poller thread leaves behind.
        successor = poller.thread_ended(token, false)
        removed = poller.unregister(a)
        again = poller.unregister(a)
        out = [successor.inspect, removed, again, poller.count].map(&:to_s)
        a.destroy
        out
        "#,
    );
    assert_eq!(result, vec!["nil", "true", "false", "0"]);
}

#[ruby_test]
fn a_new_fork_generation_forgets_the_parents_registrations() {
    let ruby = ruby();
    setup(&ruby);
    let before: Vec<String> = eval(
        &ruby,
        r#"
        $forked_poller = WaterdropFd::Native::Poller.new(93)
        $inherited = [poller_test_producer, poller_test_producer]
        $inherited.each { |p| $forked_poller.register(p, 100, 1_000) }
        [$forked_poller.count, $forked_poller.running?].map(&:to_s)
        "#,
    );
    assert_eq!(before, vec!["2", "true"]);
    waterdrop_fd::fork::advance_generation();
    let after: Vec<String> = eval(
        &ruby,
        r#"
        counted = $forked_poller.count
        running = $forked_poller.running?
        fresh = poller_test_producer
        start = $forked_poller.register(fresh, 100, 1_000)
        out = [counted, running, start.is_a?(Integer), $forked_poller.count].map(&:to_s)
        $forked_poller.clear
        fresh.destroy
        out
        "#,
    );
    assert_eq!(after, vec!["0", "false", "true", "1"]);
}

#[ruby_test]
fn a_thread_that_ended_while_producers_are_left_is_succeeded_once() {
    let ruby = ruby();
    setup(&ruby);
    let result: Vec<String> = eval(
        &ruby,
        r#"
        poller = WaterdropFd::Native::Poller.new(94)
        a = poller_test_producer
        token = poller.register(a, 100, 1_000)
        successor = poller.thread_ended(token, true)    # killed: a new thread takes over
        stale = poller.thread_ended(token, true)        # the old token owns nothing any more
        last = poller.thread_ended(successor, false)    # the process exits: nobody takes over
        out = [successor.is_a?(Integer) && successor != token, stale.inspect, last.inspect,
               poller.running?].map(&:to_s)
        poller.unregister(a)
        a.destroy
        out
        "#,
    );
    assert_eq!(result, vec!["true", "nil", "nil", "false"]);
}

/// A registration dropped while a destroy of its client holds the client's lock cannot turn
/// io events off: its pipe must then stay open (librdkafka may still write to that fd number,
/// which a closed pipe would hand to the next file opened), never be closed.
#[ruby_test]
fn a_pipe_whose_io_events_could_not_be_turned_off_is_never_closed() {
    let ruby = ruby();
    setup(&ruby);
    let result: Vec<usize> = eval(
        &ruby,
        r#"
        open_fds = -> { Dir.children("/proc/self/fd").map(&:to_i) }
        poller = WaterdropFd::Native::Poller.new(95)
        a = poller_test_producer
        before = open_fds.call
        poller.register(a, 100, 1_000)
        # The pipes registration opened (the producer's and the control pipe). Only pipes:
        # librdkafka's own threads open and close sockets meanwhile.
        is_pipe = ->(fd) { File.readlink("/proc/self/fd/#{fd}").start_with?("pipe:") rescue false }
        added = (open_fds.call - before).select(&is_pipe)
        destroyer = Thread.new { a.destroy }
        gone = a.respond_to?(:destroyed?) ? :destroyed? : :closed?
        Thread.pass until a.public_send(gone) # the destroy holds the client's lock (or is done)
        poller.clear
        still_open = added.count { |fd| File.exist?("/proc/self/fd/#{fd}") }
        destroyer.join
        [added.size, still_open]
        "#,
    );
    assert!(result[0] >= 2, "registration opened no pipe: {result:?}");
    assert_eq!(result[1], result[0], "a pipe was closed: {result:?}");
}
