//! Browser tests (wasm32, headless Chromium via wasm-bindgen-test-runner): the engine reproduces
//! the natively pinned trace hashes, and the playground mounts with a working control bar.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn wasm_trace_hashes_equal_the_native_pins() {
    for (name, text) in common::PINNED {
        let got = common::run_to_end(text);
        assert_eq!(
            Some(got),
            common::pinned(name),
            "{name}: wasm trace differs from native pin"
        );
    }
}

async fn tick(ms: u64) {
    yew::platform::time::sleep(std::time::Duration::from_millis(ms)).await;
}

fn button(root: &web_sys::Element, name: &str) -> web_sys::HtmlButtonElement {
    let buttons = root.query_selector_all("button").unwrap();
    for i in 0..buttons.length() {
        let b: web_sys::HtmlButtonElement = buttons.item(i).unwrap().dyn_into().unwrap();
        let label = b
            .get_attribute("aria-label")
            .unwrap_or_else(|| b.text_content().unwrap_or_default());
        if label.trim() == name {
            return b;
        }
    }
    panic!("no button named {name}");
}

#[wasm_bindgen_test]
async fn playground_mounts_and_step_fills_the_event_log() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<switchboard::ui::app::App>::with_root(root.clone()).render();
    tick(50).await;
    let log = root
        .query_selector("[role=log]")
        .unwrap()
        .expect("an event log");
    assert_eq!(
        log.get_attribute("aria-label").as_deref(),
        Some("Event log")
    );
    let before = log.query_selector_all("li").unwrap().length();
    let step = button(&root, "Step");
    assert!(!step.disabled());
    step.click();
    tick(50).await;
    let after = log.query_selector_all("li").unwrap().length();
    assert!(after > before, "Step added no event ({before} -> {after})");
    assert!(!button(&root, "Step back").disabled());
}
