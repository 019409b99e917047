//! The browser playground's entry point: Trunk builds this binary (feature `web`) into the page.
fn main() {
    switchboard::ui::start();
}
