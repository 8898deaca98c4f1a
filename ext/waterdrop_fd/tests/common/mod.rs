//! Pieces shared by the `#[ruby_test]` files (each test binary compiles its own copy).

#![allow(dead_code)] // not every test binary uses every helper

use std::sync::Once;

use magnus::{Ruby, TryConvert};

/// The VM handle of the test thread (rb-sys-test-helpers runs every test on it).
pub fn ruby() -> Ruby {
    Ruby::get().expect("the test runs on the Ruby VM thread")
}

/// Evaluates `code`, panicking with the code and Ruby's error when it fails.
pub fn eval<T: TryConvert>(ruby: &Ruby, code: &str) -> T {
    ruby.eval::<T>(code)
        .unwrap_or_else(|e| panic!("eval failed: {e}\n{code}"))
}

/// Defines the extension's classes in the embedded VM and runs `prelude` (the test file's
/// own Ruby helpers), once per test binary.
pub fn load_extension(ruby: &Ruby, prelude: &str) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        waterdrop_fd::init(ruby).expect("the extension initialises");
        let _: magnus::Value = eval(ruby, prelude);
    });
}
