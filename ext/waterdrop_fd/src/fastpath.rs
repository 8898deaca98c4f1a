//! The produce fast path: reads a message Hash in one pass, natively, for the common case
//! (String topic, String-or-nil payload and key, Integer partition, Integer timestamp,
//! String-valued headers, any label). Anything else — a Symbol or non-ASCII topic, a
//! `partition_key`, a `Time` timestamp, Array header values, unknown keys, a Hash
//! subclass — is *declined*, and the Ruby path (the WaterDrop contract, with its exact
//! error messages) handles the message. The checks here are never looser than the
//! contract's, so whatever is accepted here the contract would accept too.

use std::sync::OnceLock;

use std::os::raw::c_int;

use magnus::rb_sys::{AsRawValue, FromRawValue};
use magnus::value::ReprValue;
use magnus::{Integer, RHash, RString, Ruby, Value};
use rb_sys::VALUE;

/// The Symbol VALUEs of the message keys (static symbols are immediates: never moved or
/// collected, so their raw values can be kept).
struct Keys {
    topic: u64,
    payload: u64,
    key: u64,
    partition: u64,
    partition_key: u64,
    timestamp: u64,
    headers: u64,
    label: u64,
}

static KEYS: OnceLock<Keys> = OnceLock::new();

/// Interns the key symbols; called from `init` (on a Ruby thread).
pub fn init(ruby: &Ruby) {
    let raw = |name: &str| ruby.sym_new(name).as_value().as_raw();
    let _ = KEYS.set(Keys {
        topic: raw("topic"),
        payload: raw("payload"),
        key: raw("key"),
        partition: raw("partition"),
        partition_key: raw("partition_key"),
        timestamp: raw("timestamp"),
        headers: raw("headers"),
        label: raw("label"),
    });
}

/// The fields of an accepted message. Kept on the caller's stack (so the GC sees and pins
/// every VALUE in it) until the message was handed to librdkafka.
pub struct Fields {
    pub topic: RString,
    pub payload: Option<RString>,
    pub key: Option<RString>,
    pub partition: i32,
    pub timestamp_ms: i64,
    pub headers: Option<RHash>,
    pub label: Value,
}

/// Reads `message`; `None` declines it (the Ruby path takes over).
pub fn read(ruby: &Ruby, message: Value, max_payload_size: usize) -> Option<Fields> {
    let keys = KEYS.get()?;
    let hash = RHash::from_value(message)?;
    if hash.class().as_raw() != ruby.class_hash().as_raw() {
        return None;
    }
    let mut topic: Option<RString> = None;
    let mut payload: Option<Option<RString>> = None;
    let mut key: Option<RString> = None;
    let mut partition = -1i32;
    let mut timestamp_ms = 0i64;
    let mut headers: Option<RHash> = None;
    let mut label = ruby.qnil().as_value();
    let mut declined = false;
    walk(hash, &mut |k: Value, v: Value| {
        let k = k.as_raw();
        let ok = if k == keys.topic {
            topic = RString::from_value(v).filter(valid_topic);
            topic.is_some()
        } else if k == keys.payload {
            if v.is_nil() {
                payload = Some(None);
                true
            } else {
                payload = RString::from_value(v)
                    .filter(|s| s.len() <= max_payload_size)
                    .map(Some);
                payload.is_some()
            }
        } else if k == keys.key {
            if v.is_nil() {
                true
            } else {
                key = RString::from_value(v).filter(|s| !s.is_empty());
                key.is_some()
            }
        } else if k == keys.partition {
            match Integer::from_value(v).and_then(|i| i.to_i32().ok()) {
                Some(p) if p >= -1 => {
                    partition = p;
                    true
                }
                _ => false,
            }
        } else if k == keys.timestamp {
            if v.is_nil() {
                true
            } else {
                match Integer::from_value(v).and_then(|i| i.to_i64().ok()) {
                    Some(t) => {
                        timestamp_ms = t;
                        true
                    }
                    None => false,
                }
            }
        } else if k == keys.headers {
            if v.is_nil() {
                true
            } else {
                headers = RHash::from_value(v);
                headers.is_some()
            }
        } else if k == keys.label {
            label = v;
            true
        } else {
            // A nil partition_key is allowed and ignored; any other value needs the
            // partition count, which the Ruby path looks up.
            k == keys.partition_key && v.is_nil()
        };
        declined = !ok;
        ok
    });
    if declined {
        return None;
    }
    Some(Fields {
        topic: topic?,
        payload: payload?,
        key,
        partition,
        timestamp_ms,
        headers,
        label,
    })
}

/// Header name/value strings, when every name and value is a String; `None` declines.
/// Collect only after the last Ruby allocation before producing: the strings are held
/// in a Vec (not seen by the GC) and only the headers Hash keeps them alive and in place.
pub fn header_pairs(headers: RHash) -> Option<Vec<(RString, RString)>> {
    let mut out = Vec::with_capacity(headers.len());
    let mut declined = false;
    walk(
        headers,
        &mut |k: Value, v: Value| match (RString::from_value(k), RString::from_value(v)) {
            (Some(k), Some(v)) => {
                out.push((k, v));
                true
            }
            _ => {
                declined = true;
                false
            }
        },
    );
    (!declined).then_some(out)
}

/// Calls `visit` with each key and value of `hash`, in order, until it returns false.
///
/// `rb_hash_foreach` straight, not magnus's `RHash::foreach`, which wraps every walk in
/// `rb_protect` (a third of the fast path's own cost) so that the block may raise: `visit`
/// here only reads the entries (magnus's conversions catch what they raise), never panics,
/// and runs no Ruby code, so the hash cannot change during the walk and `rb_hash_foreach`
/// cannot raise either.
fn walk(hash: RHash, visit: &mut dyn FnMut(Value, Value) -> bool) {
    unsafe extern "C" fn each(key: VALUE, value: VALUE, arg: VALUE) -> c_int {
        // SAFETY: `arg` is the address of `walk`'s `visit` reference, alive for the whole
        // walk; `key` and `value` are live entries of the hash being walked (held by it).
        let (visit, key, value) = unsafe {
            (
                &mut *(arg as *mut &mut dyn FnMut(Value, Value) -> bool),
                Value::from_raw(key),
                Value::from_raw(value),
            )
        };
        if visit(key, value) {
            rb_sys::st_retval::ST_CONTINUE as c_int
        } else {
            rb_sys::st_retval::ST_STOP as c_int
        }
    }
    let mut visit = visit;
    // SAFETY: `hash` is a live Hash (held by the caller's stack frame); `each` matches the
    // callback type and never unwinds (see above); `arg` points to `visit`, which outlives
    // the call.
    unsafe {
        rb_sys::rb_hash_foreach(
            hash.as_raw(),
            Some(each),
            &mut visit as *mut &mut dyn FnMut(Value, Value) -> bool as VALUE,
        );
    }
}

/// WaterDrop's topic format `/\A(\w|-|\.)+\z/`, restricted to ASCII (a non-ASCII topic
/// is declined, not rejected: the Ruby contract decides).
fn valid_topic(topic: &RString) -> bool {
    // SAFETY: the GVL is held and nothing runs Ruby while the bytes are read.
    let bytes = unsafe { topic.as_slice() };
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
