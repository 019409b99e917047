//! Thin browser helpers: storage, location hash, downloads, clipboard, media queries, fetching
//! presets, the PNG export, the panic banner. Every call tolerates a missing API (private mode, old browsers) by doing nothing.

use web_sys::wasm_bindgen::{JsCast, JsValue};

pub const AUTOSAVE_KEY: &str = "switchboard.autosave.v1";
pub const BACKUP_KEY: &str = "switchboard.backup.v1";

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn storage_get(key: &str) -> Option<String> {
    window()?.local_storage().ok()??.get_item(key).ok()?
}

pub fn storage_set(key: &str, value: &str) -> bool {
    window()
        .and_then(|w| w.local_storage().ok().flatten())
        .map(|s| s.set_item(key, value).is_ok())
        .unwrap_or(false)
}

pub fn location_hash() -> String {
    window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Replaces the URL's hash without adding a history entry or reloading.
pub fn replace_hash(hash: &str) {
    if let Some(w) = window() {
        if let Ok(history) = w.history() {
            let mut url = w.location().pathname().unwrap_or_else(|_| "/".into());
            if !hash.is_empty() {
                url.push('#');
                url.push_str(hash);
            }
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
        }
    }
}

/// The page URL without its hash, to which a share hash is appended.
pub fn base_url() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .map(|h| h.split('#').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

pub fn copy_to_clipboard(text: &str) -> bool {
    match window() {
        Some(w) => {
            let _ = w.navigator().clipboard().write_text(text);
            true
        }
        None => false,
    }
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) -> bool {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return false;
    };
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return false;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return false;
    };
    if let Ok(a) = doc.create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
    true
}

pub fn prefers_reduced_motion() -> bool {
    window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .map(|m| m.matches())
        .unwrap_or(false)
}

/// A phone held upright (narrow and taller than wide): the topology is drawn turned.
pub fn is_portrait_phone() -> bool {
    let Some(w) = window() else { return false };
    let (Some(iw), Some(ih)) = (
        w.inner_width().ok().and_then(|v| v.as_f64()),
        w.inner_height().ok().and_then(|v| v.as_f64()),
    ) else {
        return false;
    };
    iw < 600.0 && ih > iw
}

pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// A panic leaves the wasm instance unusable, so the banner is plain DOM with plain handlers:
/// "Reload" keeps the autosaved work; "Start fresh" moves it to a backup key first.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let mut msg = String::from("Something went wrong inside the playground: ");
        if let Some(s) = info.payload().downcast_ref::<&str>() {
            msg.push_str(s);
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            msg.push_str(s);
        } else {
            msg.push_str("an internal error");
        }
        if let Some(loc) = info.location() {
            msg.push_str(" (");
            msg.push_str(loc.file());
            msg.push(':');
            msg.push_str(&loc.line().to_string());
            msg.push(')');
        }
        show_fatal(&msg);
    }));
}

fn show_fatal(msg: &str) {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = doc.body() else { return };
    let Ok(div) = doc.create_element("div") else {
        return;
    };
    div.set_class_name("fatal");
    let _ = div.set_attribute("role", "alert");
    let p = doc.create_element("p").ok();
    if let Some(p) = &p {
        p.set_text_content(Some(msg));
        let _ = div.append_child(p);
    }
    let note = doc.create_element("p").ok();
    if let Some(n) = &note {
        n.set_text_content(Some("Your scenario was autosaved in this browser."));
        let _ = div.append_child(n);
    }
    for (label, js) in [
        ("Reload (keep my work)", "location.hash='';location.reload()"),
        (
            "Start fresh (back up my work)",
            "try{var k='switchboard.autosave.v1',v=localStorage.getItem(k);if(v)localStorage.setItem('switchboard.backup.v1',v);localStorage.removeItem(k)}catch(e){};location.hash='';location.reload()",
        ),
    ] {
        if let Ok(b) = doc.create_element("button") {
            b.set_text_content(Some(label));
            let _ = b.set_attribute("type", "button");
            let _ = b.set_attribute("onclick", js);
            let _ = div.append_child(&b);
        }
    }
    let _ = body.append_child(&div);
}

/// Gives the page an icon when index.html has none, so the browser does not request /favicon.ico.
pub fn ensure_icon() {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    if doc
        .query_selector("link[rel~=icon]")
        .ok()
        .flatten()
        .is_some()
    {
        return;
    }
    let (Some(head), Ok(link)) = (doc.head(), doc.create_element("link")) else {
        return;
    };
    let _ = link.set_attribute("rel", "icon");
    let _ = link.set_attribute(
        "href",
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%230b5cad'/%3E%3C/svg%3E",
    );
    let _ = head.append_child(&link);
}

use web_sys::wasm_bindgen;
use web_sys::wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function sb_fetch_text(url, limit, done) {
  fetch(url)
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error('the server answered ' + r.status))))
    .then((t) => (t.length > limit ? done('', 'the file is larger than expected') : done(t, '')),
          (e) => done('', String(e && e.message || e)));
}
"#)]
extern "C" {
    fn sb_fetch_text(url: &str, limit: u32, done: &JsValue);
}

/// Fetches `url` as text (at most `limit` characters) and calls `done` once with the text or a
/// readable reason.
pub fn fetch_text(url: &str, limit: u32, done: impl FnOnce(Result<String, String>) + 'static) {
    let cb = Closure::once_into_js(move |text: String, err: String| {
        done(if err.is_empty() { Ok(text) } else { Err(err) })
    });
    sb_fetch_text(url, limit, &cb);
}

#[wasm_bindgen(inline_js = r#"
export function sb_export_png(svg, dots, name, done) {
  try {
    const r = svg.getBoundingClientRect();
    const w = Math.max(1, Math.round(r.width)), h = Math.max(1, Math.round(r.height));
    const scale = Math.min(4, Math.max(1, window.devicePixelRatio || 1));
    // A standalone SVG image sees no page CSS: carry the page's own rules inside it.
    const clone = svg.cloneNode(true);
    clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    clone.setAttribute('width', String(w));
    clone.setAttribute('height', String(h));
    let css = '';
    for (const sheet of document.styleSheets) {
      try { for (const rule of sheet.cssRules) css += rule.cssText + '\n'; } catch (e) { /* cross-origin sheet */ }
    }
    const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
    style.textContent = css;
    clone.insertBefore(style, clone.firstChild);
    const text = new XMLSerializer().serializeToString(clone);
    const img = new Image();
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = Math.round(w * scale); c.height = Math.round(h * scale);
      const g = c.getContext('2d');
      g.fillStyle = getComputedStyle(svg.parentElement || svg).backgroundColor || '#ffffff';
      if (g.fillStyle === 'rgba(0, 0, 0, 0)') g.fillStyle = '#ffffff';
      g.fillRect(0, 0, c.width, c.height);
      g.drawImage(img, 0, 0, c.width, c.height);
      // The dot layer sits exactly over the SVG (same box), in device pixels.
      if (dots && dots.width > 0 && dots.height > 0) g.drawImage(dots, 0, 0, c.width, c.height);
      c.toBlob((blob) => {
        if (!blob) { done('the browser could not encode the image'); return; }
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        done('');
      }, 'image/png');
    };
    img.onerror = () => done('the topology could not be turned into an image');
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text);
  } catch (e) { done(String(e && e.message || e)); }
}
"#)]
extern "C" {
    fn sb_export_png(svg: &web_sys::Element, dots: &web_sys::Element, name: &str, done: &JsValue);
}

/// Downloads a PNG of the topology `svg` with the `dots` canvas drawn over it; `done` gets
/// `Err(reason)` when the browser could not make it.
pub fn export_png(
    svg: &web_sys::Element,
    dots: &web_sys::Element,
    name: &str,
    done: impl FnOnce(Result<(), String>) + 'static,
) {
    let cb = Closure::once_into_js(move |err: String| {
        done(if err.is_empty() { Ok(()) } else { Err(err) })
    });
    sb_export_png(svg, dots, name, &cb);
}
