// Link the berth binary as a fixed-position executable: its relocated data
// (vtables, tables of &str) then stays in the shared file pages instead of
// being copied into every process, which matters for the per-container
// monitors (about 370 kB each). Only the binary; tests and proc-macros are
// untouched.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
