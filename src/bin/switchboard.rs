//! The `switchboard` command-line runner (placeholder until the CLI lands).
fn main() {
    eprintln!("switchboard: the CLI is being built");
    std::process::exit(2);
}
