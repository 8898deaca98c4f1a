// Lets plain `cargo build` / `cargo test` find the Ruby it builds against (through
// `ruby` on PATH or $RUBY) without the rb_sys gem's mkmf wrapper.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rb_sys_env::activate()?;
    Ok(())
}
