//! `WaterdropFd::DeliveryReport`: the outcome of one produced message, as `wait` returns it.
//!
//! A native object because one is built for nearly every message: made from Rust it is one
//! allocation with its five fields set in place, where a Ruby object would cost an
//! `initialize` call and, on Ruby 3.1, a separate buffer for its instance variables.
//! `DeliveryReport.new(partition, offset, topic_name = nil, error = nil, label = nil)` still
//! works from Ruby (and for subclasses, such as the rdkafka-ruby compatibility class).

use std::cell::Cell;

use magnus::gc::Marker;
use magnus::typed_data::Obj;
use magnus::value::Opaque;
use magnus::{prelude::*, DataTypeFunctions, Error, RModule, Ruby, TypedData, Value};

use crate::barrier::written;

/// Write-barrier protected: a report kept by the user grows old and is not marked again by
/// minor GCs. Its fields are written only by [`DeliveryReport::wrap`] and `initialize` /
/// `initialize_copy`, which run the barrier for each.
#[derive(TypedData)]
#[magnus(
    class = "WaterdropFd::DeliveryReport",
    free_immediately,
    size,
    mark,
    wb_protected
)]
pub struct DeliveryReport {
    partition: Cell<Opaque<Value>>,
    offset: Cell<Opaque<Value>>,
    topic_name: Cell<Opaque<Value>>,
    error: Cell<Opaque<Value>>,
    label: Cell<Opaque<Value>>,
}

impl Default for DeliveryReport {
    fn default() -> Self {
        // Ruby calls an allocator only on a Ruby thread, with the GVL.
        let ruby = Ruby::get().expect("allocators run on Ruby threads");
        let nil = Opaque::from(ruby.qnil().as_value());
        Self {
            partition: Cell::new(nil),
            offset: Cell::new(nil),
            topic_name: Cell::new(nil),
            error: Cell::new(nil),
            label: Cell::new(nil),
        }
    }
}

impl DataTypeFunctions for DeliveryReport {
    fn mark(&self, marker: &Marker) {
        for field in self.fields() {
            marker.mark(field.get());
        }
    }
}

impl DeliveryReport {
    fn fields(&self) -> [&Cell<Opaque<Value>>; 5] {
        [
            &self.partition,
            &self.offset,
            &self.topic_name,
            &self.error,
            &self.label,
        ]
    }

    /// A report as a Ruby object (of `WaterdropFd::DeliveryReport` itself).
    pub fn wrap(
        ruby: &Ruby,
        partition: i32,
        offset: i64,
        topic_name: Value,
        error: Value,
        label: Value,
    ) -> Obj<Self> {
        let obj = ruby.obj_wrap(Self {
            partition: Cell::new(ruby.integer_from_i64(partition.into()).as_value().into()),
            offset: Cell::new(ruby.integer_from_i64(offset).as_value().into()),
            topic_name: Cell::new(topic_name.into()),
            error: Cell::new(error.into()),
            label: Cell::new(label.into()),
        });
        // Every VALUE stored in a write-barrier-protected object goes through the barrier
        // (for a young object, as this one is, it costs a few instructions).
        written(&obj, topic_name);
        written(&obj, error);
        written(&obj, label);
        obj
    }

    /// Sets the five fields; a frozen report refuses (`FrozenError`), as a plain Ruby object
    /// would.
    fn set(rb_self: Obj<Self>, values: [Value; 5]) -> Result<(), Error> {
        rb_self.check_frozen()?;
        for (field, value) in rb_self.fields().into_iter().zip(values) {
            field.set(value.into());
            written(&rb_self, value);
        }
        Ok(())
    }

    /// `initialize(partition, offset, topic_name = nil, error = nil, label = nil)`.
    fn initialize(ruby: &Ruby, rb_self: Obj<Self>, args: &[Value]) -> Result<(), Error> {
        if !(2..=5).contains(&args.len()) {
            return Err(Error::new(
                ruby.exception_arg_error(),
                format!(
                    "wrong number of arguments (given {}, expected 2..5)",
                    args.len()
                ),
            ));
        }
        let nil = ruby.qnil().as_value();
        let arg = |i: usize| args.get(i).copied().unwrap_or(nil);
        Self::set(rb_self, [arg(0), arg(1), arg(2), arg(3), arg(4)])
    }

    /// `dup` and `clone` copy the five fields.
    fn initialize_copy(ruby: &Ruby, rb_self: Obj<Self>, other: Obj<Self>) -> Result<(), Error> {
        let values = other.fields().map(|f| ruby.get_inner(f.get()));
        Self::set(rb_self, values)
    }

    fn partition(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.partition.get())
    }

    fn offset(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.offset.get())
    }

    fn topic_name(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.topic_name.get())
    }

    fn error(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.error.get())
    }

    fn label(ruby: &Ruby, rb_self: &Self) -> Value {
        ruby.get_inner(rb_self.label.get())
    }
}

pub fn init(ruby: &Ruby, root: &RModule) -> Result<(), Error> {
    let class = root.define_class("DeliveryReport", ruby.class_object())?;
    class.define_alloc_func::<DeliveryReport>();
    class.define_method(
        "initialize",
        magnus::method!(DeliveryReport::initialize, -1),
    )?;
    class.define_method(
        "initialize_copy",
        magnus::method!(DeliveryReport::initialize_copy, 1),
    )?;
    class.define_method("partition", magnus::method!(DeliveryReport::partition, 0))?;
    class.define_method("offset", magnus::method!(DeliveryReport::offset, 0))?;
    class.define_method("topic_name", magnus::method!(DeliveryReport::topic_name, 0))?;
    class.define_method("topic", magnus::method!(DeliveryReport::topic_name, 0))?;
    class.define_method("error", magnus::method!(DeliveryReport::error, 0))?;
    class.define_method("label", magnus::method!(DeliveryReport::label, 0))?;
    Ok(())
}
