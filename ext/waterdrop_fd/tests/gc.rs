//! Labels and topics held by native delivery handles survive `GC.stress` and `GC.compact`.
//!
//! The crate's `init` defines the native classes in the embedded VM (the Ruby half of the
//! gem is not loaded: no latch, no poller). Handles stay in the producer's in-flight table
//! (nobody serves its queue) until `destroy` fails them with `_DESTROY`, so for the whole
//! test the labels are reachable only through the handles' and the producer's mark functions.

mod common;

use common::{eval, ruby};
use magnus::Ruby;
use rb_sys_test_helpers::ruby_test;

fn setup(ruby: &Ruby) {
    common::load_extension(
        ruby,
        r#"
                class GcTestDispatcher
                  attr_reader :calls
                  def initialize = @calls = Hash.new(0)
                  %i[delivered error statistics oauthbearer_token_refresh log callback_failed].each do |m|
                    define_method(m) { |*| @calls[m] += 1; nil }
                  end
                end
                GcTestLabel = Struct.new(:n, :name)
                $gc_cluster = WaterdropFd::Testing::MockCluster._new(1)
                nil
                "#,
    );
}

/// Produces messages whose labels (string, hash, struct) are referenced only by their
/// handle, compacts the heap under stress, and checks every label's class and value. The
/// producer is built with stress paused (a GC on every allocation makes parsing its config
/// take seconds on a loaded machine, and the test harness allows 10 s); producing,
/// compacting, checking and destroying all run with `GC.stress` on.
const PRODUCE_AND_CHECK: &str = r#"
  GC.stress = false
  producer = WaterdropFd::Native::Producer.new(
    [["bootstrap.servers", $gc_cluster.bootstrap_servers], ["linger.ms", "60000"]],
    GcTestDispatcher.new, false
  )
  GC.stress = true
  handles = Array.new(12) do |i|
    label = case i % 3
            when 0 then +"label-#{i}"
            when 1 then { n: i, s: "hash-#{i}" }
            else GcTestLabel.new(i, "struct-#{i}")
            end
    producer.produce("gc-topic", "payload-#{i}", nil, -1, 0, nil, label, 0)
  end
  GC.start(full_mark: true, immediate_sweep: true)
  GC.compact
  expected = ->(i) do
    case i % 3
    when 0 then "label-#{i}"
    when 1 then { n: i, s: "hash-#{i}" }
    else GcTestLabel.new(i, "struct-#{i}")
    end
  end
  ok = handles.each_with_index.all? do |h, i|
    h.pending? && h.topic == "gc-topic" && h.label.class == expected.(i).class && h.label == expected.(i)
  end
  failed = producer.destroy
  stressed = GC.stress
  stressed && ok && failed == 12 && handles.all? { |h| !h.pending? && h.error_code == -197 } &&
    handles.each_with_index.all? { |h, i| h.label == expected.(i) }
"#;

#[ruby_test(gc_stress)]
fn labels_of_in_flight_handles_survive_gc_stress_and_compaction() {
    let ruby = ruby();
    // One-time setup (extension init, mock cluster) with stress paused; the macro puts
    // stress back as it was when the test ends.
    let _: magnus::Value = ruby.eval("GC.stress = false").expect("GC.stress");
    setup(&ruby);
    assert!(
        eval::<bool>(&ruby, PRODUCE_AND_CHECK),
        "a label or topic changed while held by native code"
    );
}

#[ruby_test]
fn handles_dropped_by_ruby_stay_alive_in_the_in_flight_table() {
    let ruby = ruby();
    setup(&ruby);
    let code = r#"
      producer = WaterdropFd::Native::Producer.new(
        [["bootstrap.servers", $gc_cluster.bootstrap_servers], ["linger.ms", "60000"]],
        GcTestDispatcher.new, false
      )
      ids = Array.new(500) do |i|
        producer.produce("gc-topic", "p", nil, -1, 0, nil, "dropped-#{i}", 0).object_id
      end
      3.times { GC.start(full_mark: true, immediate_sweep: true) }
      GC.compact
      alive = ids.count do |id|
        h = ObjectSpace._id2ref(id) rescue nil
        h.is_a?(WaterdropFd::DeliveryHandle) && h.label.start_with?("dropped-")
      end
      in_flight = producer.in_flight_count
      failed = producer.destroy
      alive == 500 && in_flight == 500 && failed == 500
    "#;
    assert!(
        eval::<bool>(&ruby, code),
        "a handle held only by the in-flight table was collected"
    );
}
