//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds `migrations/sqlite/` at compile time.

fn main() {
    println!("cargo:rerun-if-changed=../migrations/sqlite");
}
