//! The Yew playground: renders what the engine says and dispatches commands; no simulation logic.
//! Map: `app` (root component, playback, input), `session` (scenario + engine -> view-models),
//! `editor` (edits produce a new scenario), `topology` (SVG), `dots` (canvas layer), `panels`
//! (log, metrics, inspector, text, palette), `geometry`/`view`/`codec`/`raster` (pure), `platform` (browser).

pub mod app;
pub mod codec;
pub mod dots;
pub mod editor;
pub mod geometry;
pub mod panels;
pub mod platform;
pub mod presets;
pub mod raster;
pub mod session;
pub mod topology;
pub mod view;

/// Installs the panic banner and mounts the app on `<body>`.
pub fn start() {
    platform::install_panic_hook();
    platform::ensure_icon();
    yew::Renderer::<app::App>::new().render();
}
