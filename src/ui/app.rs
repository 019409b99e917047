//! The root component: owns the session (scenario + engine), playback, selection and editing
//! history; turns user input into commands for the session and renders view-models.
//! Per animation frame it advances the engine in a bounded slice and redraws the dot canvas
//! without touching the virtual DOM (it sets `data-dots` / `data-draw-us` on the canvas for the
//! frame benchmark); Yew re-renders only when the run position changed, at most every 120 ms
//! while playing, and the session's view-models are rebuilt (`Session::sync`) just before.

use super::codec::{self, SharedState};
use super::dots;
use super::geometry::{self, Fit};
use super::panels::{self, Tab};
use super::platform;
use super::session::{Edit, FaultCmd, Session, TourStep};
use super::topology::{self, Selected};
use super::view::{fmt_ms, EdgeKind, LogEntryView, Transit};
use web_sys::wasm_bindgen::prelude::*;
use web_sys::wasm_bindgen::JsCast;
use yew::prelude::*;

/// Playback speeds offered; index 2 (1×) is the default.
pub const SPEEDS: [(f64, &str); 9] = [
    (0.25, "¼×"),
    (0.5, "½×"),
    (1.0, "1×"),
    (2.0, "2×"),
    (4.0, "4×"),
    (8.0, "8×"),
    (16.0, "16×"),
    (32.0, "32×"),
    (64.0, "64×"),
];
/// Virtual ms per wall-clock second at 1×: slow enough to follow a 20 ms hop by eye.
const BASE_RATE_MS_PER_S: f64 = 250.0;
/// When nothing is travelling, idle time passes this many times faster (waiting is not news).
const IDLE_BOOST: f64 = 20.0;
/// The most events the engine may process in one animation frame (keeps frames short).
const FRAME_EVENT_BUDGET: u64 = 4_000;
/// Re-render panels at most this often while playing (ms of wall time).
const RENDER_INTERVAL_MS: f64 = 120.0;
const MAX_UNDO: usize = 100;

#[derive(Clone, Copy, PartialEq)]
pub enum Overlay {
    None,
    Help,
    Gallery,
}

pub enum Msg {
    Frame(f64),
    TogglePlay,
    Step,
    StepBack,
    Reset,
    SetSpeed(usize),
    Seek(u64),
    Key(KeyboardEvent),
    Overlay(Overlay),
    LoadPreset(usize),
    PresetLoaded(usize, Result<String, String>),
    New,
    TourNext,
    TourPrev,
    TourClose,
    Select(Selected),
    SelectMessage(Option<u64>),
    NodeDown(String, PointerEvent),
    NodeKey(String, KeyboardEvent),
    HandleDown(String, PointerEvent),
    PointerMove(PointerEvent),
    PointerUp(PointerEvent),
    PickLink(Option<EdgeKind>),
    Tab(Tab),
    Fault(FaultCmd),
    Edit(Edit),
    Undo,
    Redo,
    TextInput(String),
    ApplyText,
    Export,
    ExportPng,
    Import(String),
    CopyLink,
    DismissNotice,
    TogglePanels,
    Notice(String),
    DismissError,
}

/// The requestAnimationFrame callback (re-arms itself each frame).
type FrameCallback = Closure<dyn FnMut(f64)>;

/// An inspector edit that was refused: shown beside its field until the next edit or selection.
pub struct FieldError {
    pub target: Selected,
    pub key: &'static str,
    pub message: String,
    /// What the user typed, kept in the field so it can be corrected.
    pub value: String,
}

enum Drag {
    Move {
        name: String,
        dx: f32,
        dy: f32,
        moved: bool,
        x: f32,
        y: f32,
    },
    Connect {
        from: String,
        x: f32,
        y: f32,
    },
}

pub struct App {
    session: Option<Session>,
    /// The scenario text as the user last saw/typed it (Text tab).
    draft: String,
    draft_errors: Vec<String>,
    undo: Vec<String>,
    redo: Vec<String>,
    playing: bool,
    speed: usize,
    /// Playback position in virtual ms (fractional: the dots glide between events).
    play_t: f64,
    last_frame: Option<f64>,
    last_render: f64,
    rendered_events: u64,
    selected: Selected,
    message: Option<u64>,
    /// Message ids of every copy of the selected message's journey (sorted), highlighted on the canvas.
    journey: Vec<u64>,
    /// The selected message's journey as log rows (computed with `journey`, shown by the log panel).
    journey_steps: Vec<super::view::LogEntryView>,
    tab: Tab,
    overlay: Overlay,
    tour: Option<usize>,
    /// The gallery preset being fetched.
    loading: Option<usize>,
    field_error: Option<FieldError>,
    panels_open: bool,
    drag: Option<Drag>,
    link_picker: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    transits: Vec<Transit>,
    dot_buf: Vec<f32>,
    dot_layer: dots::DotLayer,
    reduced_motion: bool,
    stage: NodeRef,
    canvas: NodeRef,
    svg: NodeRef,
    raf: Option<(i32, FrameCallback)>,
    keys: Option<Closure<dyn FnMut(KeyboardEvent)>>,
    history: panels::MetricHistory,
}

impl App {
    fn open_text(&mut self, text: &str, record_undo: bool) -> Result<(), Vec<String>> {
        let session = Session::open(text)?;
        if record_undo {
            if let Some(old) = &self.session {
                self.undo.push(old.text().to_string());
                if self.undo.len() > MAX_UNDO {
                    self.undo.remove(0);
                }
                self.redo.clear();
            }
        }
        self.draft = session.text().to_string();
        self.draft_errors.clear();
        platform::storage_set(platform::AUTOSAVE_KEY, session.text());
        self.session = Some(session);
        self.after_jump();
        self.history.clear();
        self.tour = None;
        Ok(())
    }

    /// Replaces the scenario with an edited one, keeping the run position where possible.
    fn apply_edit(&mut self, edit: Edit) {
        let Some(s) = &self.session else { return };
        let old_names: Vec<String> = s.topology().nodes.iter().map(|n| n.name.clone()).collect();
        match s.edited(&edit) {
            Ok(text) => {
                let pos = s.event_count();
                let sel = self.selected.clone();
                if let Err(errors) = self.open_text(&text, true) {
                    self.notice = Some(errors.join("\n"));
                    return;
                }
                self.field_error = None;
                if let Some(s) = &mut self.session {
                    s.seek(pos);
                }
                self.selected = match edit {
                    Edit::Add { .. } => self
                        .session
                        .as_ref()
                        .and_then(|s| {
                            s.topology()
                                .nodes
                                .iter()
                                .find(|n| !old_names.contains(&n.name))
                                .map(|n| n.name.clone())
                        })
                        .map(Selected::Node)
                        .unwrap_or(Selected::None),
                    Edit::Delete(_) => Selected::None,
                    // A renamed node stays selected under its new name.
                    Edit::Set {
                        key: "name",
                        ref value,
                        ..
                    } => Selected::Node(value.trim().to_string()),
                    _ => sel,
                };
                self.after_jump();
            }
            // A refused field edit is shown beside the field, with what was typed kept.
            Err(msg) => match edit {
                Edit::Set { target, key, value } => {
                    self.field_error = Some(FieldError {
                        target,
                        key,
                        message: msg,
                        value,
                    })
                }
                _ => self.notice = Some(msg),
            },
        }
    }

    fn after_jump(&mut self) {
        if let Some(s) = &self.session {
            self.play_t = s.now_ms() as f64;
        }
        self.last_render = 0.0;
    }

    fn set_playing(&mut self, on: bool) {
        self.playing = on && self.session.as_ref().is_some_and(|s| !s.finished());
        self.last_frame = None;
    }

    /// One animation frame: advance the playback clock, run the engine up to it (bounded), draw dots.
    /// Returns whether the panels should re-render.
    fn frame(&mut self, ts: f64) -> bool {
        let started = platform::now_ms();
        let portrait = platform::is_portrait_phone();
        let Some(s) = self.session.as_mut() else {
            return false;
        };
        if s.portrait() != portrait {
            s.set_portrait(portrait);
            self.draw_dots();
            return true;
        }
        let was_playing = self.playing;
        if self.playing {
            let dt = self
                .last_frame
                .map(|l| (ts - l).clamp(0.0, 100.0))
                .unwrap_or(0.0);
            self.last_frame = Some(ts);
            let boost = if self.transits.is_empty() {
                IDLE_BOOST
            } else {
                1.0
            };
            let rate = BASE_RATE_MS_PER_S * SPEEDS[self.speed].0 * boost;
            let target = self.play_t + dt / 1000.0 * rate;
            let reached = s.run_until(target as u64, FRAME_EVENT_BUDGET);
            self.play_t = if reached { target } else { s.now_ms() as f64 };
            // A closed tour no longer stops the run.
            if let Some(stop) = s
                .tour_stop(self.play_t as u64)
                .filter(|_| self.tour.is_some())
            {
                self.tour = Some(stop.index);
                if stop.pause {
                    self.playing = false;
                }
            }
            if s.finished() && self.transits.is_empty() {
                self.playing = false;
            }
        }
        let dots = self.draw_dots();
        // Benchmark hooks (e2e/bench-frames.mjs): dots drawn and the Rust update+draw time of
        // this frame, as two attributes on the canvas (no Yew render).
        if let Some(canvas) = self.canvas.cast::<web_sys::Element>() {
            let us = ((platform::now_ms() - started) * 1000.0) as u64;
            let _ = canvas.set_attribute("data-dots", &dots.to_string());
            let _ = canvas.set_attribute("data-draw-us", &us.to_string());
        }
        let s = self.session.as_ref().unwrap();
        let changed = s.event_count() != self.rendered_events;
        // A run that stopped by itself (end, tour pause) must show "Play" again at once.
        was_playing != self.playing
            || (changed && (!self.playing || ts - self.last_render >= RENDER_INTERVAL_MS))
    }

    /// Draws the message dots; returns how many were drawn.
    fn draw_dots(&mut self) -> usize {
        let (Some(s), Some(canvas)) = (
            self.session.as_ref(),
            self.canvas.cast::<web_sys::HtmlCanvasElement>(),
        ) else {
            return 0;
        };
        let topo = s.topology();
        s.transits(&mut self.transits);
        let (w, h) = (canvas.client_width() as f32, canvas.client_height() as f32);
        let fit = geometry::fit(topo.view_box(), w.max(1.0), h.max(1.0));
        // With reduced motion, dots sit at their destination side rather than gliding.
        let t = if self.reduced_motion && self.playing {
            s.now_ms() as f64
        } else {
            self.play_t
        };
        let n = geometry::dot_buffer(
            &topo.nodes,
            &self.transits,
            t,
            &fit,
            &self.journey,
            &mut self.dot_buf,
        );
        let dpr = web_sys::window()
            .map(|w| w.device_pixel_ratio())
            .unwrap_or(1.0) as f32;
        self.dot_layer
            .draw(&canvas, &self.dot_buf, w, h, dpr, w < 600.0);
        n
    }

    fn fit(&self) -> Option<Fit> {
        let s = self.session.as_ref()?;
        let svg = self.svg.cast::<web_sys::Element>()?;
        let r = svg.get_bounding_client_rect();
        Some(geometry::fit(
            s.topology().view_box(),
            r.width() as f32,
            r.height() as f32,
        ))
    }

    fn to_model(&self, e: &PointerEvent) -> Option<(f32, f32)> {
        let svg = self.svg.cast::<web_sys::Element>()?;
        let r = svg.get_bounding_client_rect();
        let fit = self.fit()?;
        Some(fit.to_model(
            e.client_x() as f32 - r.left() as f32,
            e.client_y() as f32 - r.top() as f32,
        ))
    }

    fn node_at(&self, x: f32, y: f32) -> Option<String> {
        let s = self.session.as_ref()?;
        s.topology()
            .nodes
            .iter()
            .find(|n| {
                let (hw, hh) = geometry::half_size(&n.kind);
                (x - n.x).abs() <= hw && (y - n.y).abs() <= hh
            })
            .map(|n| n.name.clone())
    }

    fn share_state(&self) -> Option<SharedState> {
        let s = self.session.as_ref()?;
        Some(SharedState {
            text: s.text().to_string(),
            seed: Some(s.seed()),
            event: s.event_count(),
        })
    }

    fn handle_key(&mut self, ctx: &Context<Self>, e: KeyboardEvent) -> bool {
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            if (e.ctrl_key() || e.meta_key()) && e.key() == "z" {
                ctx.link()
                    .send_message(if e.shift_key() { Msg::Redo } else { Msg::Undo });
                e.prevent_default();
            }
            return false;
        }
        let typing = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
            .unwrap_or(false);
        if typing {
            return false;
        }
        let link = ctx.link();
        match e.key().as_str() {
            " " => {
                // Space on a focused button already clicks it; only act for the page itself.
                let on_button = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| el.tag_name() == "BUTTON")
                    .unwrap_or(false);
                if !on_button {
                    e.prevent_default();
                    link.send_message(Msg::TogglePlay);
                }
            }
            "ArrowRight" => {
                e.prevent_default();
                link.send_message(Msg::Step)
            }
            "ArrowLeft" => {
                e.prevent_default();
                link.send_message(Msg::StepBack)
            }
            "r" | "R" => link.send_message(Msg::Reset),
            "?" => link.send_message(Msg::Overlay(if self.overlay == Overlay::Help {
                Overlay::None
            } else {
                Overlay::Help
            })),
            "Escape" => {
                self.overlay = Overlay::None;
                self.loading = None;
                self.link_picker = None;
                self.drag = None;
                return true;
            }
            "Delete" | "Backspace" if self.selected != Selected::None => {
                link.send_message(Msg::Edit(Edit::Delete(self.selected.clone())));
            }
            _ => {}
        }
        false
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(_ctx: &Context<Self>) -> Self {
        let mut app = App {
            session: None,
            draft: String::new(),
            draft_errors: Vec::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            playing: false,
            speed: 2,
            play_t: 0.0,
            last_frame: None,
            last_render: 0.0,
            rendered_events: u64::MAX,
            selected: Selected::None,
            message: None,
            journey: Vec::new(),
            journey_steps: Vec::new(),
            tab: Tab::Log,
            overlay: Overlay::None,
            tour: None,
            loading: None,
            field_error: None,
            panels_open: true,
            drag: None,
            link_picker: None,
            notice: None,
            error: None,
            transits: Vec::new(),
            dot_buf: Vec::new(),
            dot_layer: dots::DotLayer::default(),
            reduced_motion: platform::prefers_reduced_motion(),
            stage: NodeRef::default(),
            canvas: NodeRef::default(),
            svg: NodeRef::default(),
            raf: None,
            keys: None,
            history: panels::MetricHistory::default(),
        };
        // 1. A shared link; 2. the autosaved work; 3. the welcome preset.
        let hash = platform::location_hash();
        match codec::decode_hash(&hash) {
            Ok(Some(shared)) => {
                let text = Session::with_seed(&shared.text, shared.seed);
                match app.open_text(&text, false) {
                    Ok(()) => {
                        if let Some(s) = &mut app.session {
                            s.seek(shared.event);
                        }
                        app.after_jump();
                        app.notice =
                            Some("Opened the shared scenario at the shared moment.".into());
                    }
                    Err(errors) => {
                        let mut msg = String::from("This link's scenario has problems, so the playground opened your own work instead: ");
                        msg.push_str(
                            errors
                                .first()
                                .map(String::as_str)
                                .unwrap_or("unknown problem"),
                        );
                        app.notice = Some(msg);
                    }
                }
            }
            Ok(None) => {}
            Err(why) => {
                let mut msg = String::from("This link could not be opened (");
                msg.push_str(&why);
                msg.push_str("). Showing your own work instead.");
                app.notice = Some(msg);
            }
        }
        if app.session.is_none() {
            if let Some(saved) = platform::storage_get(platform::AUTOSAVE_KEY) {
                if app.open_text(&saved, false).is_err() {
                    platform::storage_set(platform::BACKUP_KEY, &saved);
                    app.notice = Some("Your autosaved scenario no longer loads; it was kept as a backup and the welcome tour opened.".into());
                }
            }
        }
        if app.session.is_none() {
            let welcome = super::presets::welcome();
            match app.open_text(welcome, false) {
                Ok(()) => {
                    app.tour = app
                        .session
                        .as_ref()
                        .filter(|s| !s.tour().is_empty())
                        .map(|_| 0)
                }
                Err(errors) => app.error = Some(errors.join("\n")),
            }
        }
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let render = self.handle(ctx, msg);
        if render {
            // View-models are rebuilt only when Yew is about to render them.
            if let Some(s) = &mut self.session {
                s.sync();
            }
            self.refresh_journey();
        }
        render
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        self.view_app(ctx)
    }

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        self.after_render(ctx, first_render)
    }
}

impl App {
    fn handle(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Frame(ts) => {
                let render = self.frame(ts);
                if render {
                    self.last_render = ts;
                }
                return render;
            }
            Msg::TogglePlay => {
                let on = !self.playing;
                self.set_playing(on);
            }
            Msg::Step => {
                self.set_playing(false);
                if let Some(s) = &mut self.session {
                    s.step();
                }
                self.after_jump();
            }
            Msg::StepBack => {
                self.set_playing(false);
                if let Some(s) = &mut self.session {
                    s.step_back();
                }
                self.after_jump();
            }
            Msg::Reset => {
                self.set_playing(false);
                if let Some(s) = &mut self.session {
                    s.seek(0);
                }
                self.history.clear();
                self.tour = self.tour.map(|_| 0);
                self.after_jump();
            }
            Msg::SetSpeed(i) => self.speed = i.min(SPEEDS.len() - 1),
            Msg::Seek(n) => {
                self.set_playing(false);
                if let Some(s) = &mut self.session {
                    s.seek(n);
                }
                self.after_jump();
            }
            Msg::Key(e) => return self.handle_key(ctx, e),
            Msg::Overlay(o) => {
                if o == Overlay::None {
                    self.loading = None;
                }
                self.overlay = o;
            }
            Msg::LoadPreset(i) => {
                self.set_playing(false);
                let Some(preset) = super::presets::ALL.get(i) else {
                    return false;
                };
                self.loading = Some(i);
                if preset.stem != super::presets::WELCOME {
                    // Fetched on demand (see `presets`); the gallery shows it is loading.
                    let link = ctx.link().clone();
                    platform::fetch_text(
                        &super::presets::url(preset.stem),
                        codec::MAX_EXPANDED as u32,
                        move |r| link.send_message(Msg::PresetLoaded(i, r)),
                    );
                    return true;
                }
                ctx.link().send_message(Msg::PresetLoaded(
                    i,
                    Ok(super::presets::welcome().to_string()),
                ));
            }
            Msg::PresetLoaded(i, result) => {
                // A reply nobody waits for any more (the gallery was closed, New was pressed).
                if self.loading != Some(i) {
                    return false;
                }
                self.loading = None;
                let text = match result {
                    Ok(text) => text,
                    Err(why) => {
                        let mut m = String::from("The preset could not be loaded (");
                        m.push_str(&why);
                        m.push_str("). Check the connection and try again.");
                        self.notice = Some(m);
                        return true;
                    }
                };
                {
                    match self.open_text(&text, true) {
                        Ok(()) => {
                            self.overlay = Overlay::None;
                            self.selected = Selected::None;
                            let has_tour =
                                self.session.as_ref().is_some_and(|s| !s.tour().is_empty());
                            self.tour = has_tour.then_some(0);
                        }
                        Err(e) => self.error = Some(e.join("\n")),
                    }
                }
            }
            Msg::New => {
                self.set_playing(false);
                self.loading = None;
                if let Err(e) = self.open_text(super::presets::EMPTY, true) {
                    self.error = Some(e.join("\n"));
                }
                self.selected = Selected::None;
            }
            Msg::TourNext | Msg::TourPrev => {
                let forward = matches!(msg, Msg::TourNext);
                if let (Some(i), Some(s)) = (self.tour, self.session.as_mut()) {
                    let n = s.tour().len();
                    let next = if forward {
                        (i + 1).min(n.saturating_sub(1))
                    } else {
                        i.saturating_sub(1)
                    };
                    self.set_playing(false);
                    if let Some(s) = &mut self.session {
                        s.goto_tour_step(next);
                    }
                    self.tour = Some(next);
                    self.after_jump();
                }
            }
            Msg::TourClose => self.tour = None,
            Msg::Select(sel) => {
                if sel != self.selected {
                    self.field_error = None;
                }
                self.selected = sel;
                if self.selected != Selected::None {
                    self.tab = Tab::Inspect;
                }
            }
            Msg::SelectMessage(m) => {
                self.message = m;
                self.refresh_journey();
                self.draw_dots();
            }
            Msg::NodeDown(name, e) => {
                if e.button() != 0 {
                    return false;
                }
                let on_handle = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| {
                        el.get_attribute("class")
                            .is_some_and(|c| c.split(' ').any(|c| c == "handle"))
                    });
                if on_handle || matches!(self.drag, Some(Drag::Connect { .. })) {
                    let (x, y) = self.to_model(&e).unwrap_or((0.0, 0.0));
                    self.drag = Some(Drag::Connect { from: name, x, y });
                    if let Some(svg) = self.svg.cast::<web_sys::Element>() {
                        let _ = svg.set_pointer_capture(e.pointer_id());
                    }
                    return true;
                }
                let (x, y) = self.to_model(&e).unwrap_or((0.0, 0.0));
                let (nx, ny) = self
                    .session
                    .as_ref()
                    .and_then(|s| s.topology().node(&name).map(|n| (n.x, n.y)))
                    .unwrap_or((x, y));
                self.drag = Some(Drag::Move {
                    name: name.clone(),
                    dx: nx - x,
                    dy: ny - y,
                    moved: false,
                    x: nx,
                    y: ny,
                });
                self.selected = Selected::Node(name);
                self.tab = Tab::Inspect;
                if let Some(svg) = self.svg.cast::<web_sys::Element>() {
                    let _ = svg.set_pointer_capture(e.pointer_id());
                }
            }
            Msg::NodeKey(name, e) => match e.key().as_str() {
                "Enter" | " " => {
                    e.prevent_default();
                    e.stop_propagation();
                    self.selected = Selected::Node(name);
                    self.tab = Tab::Inspect;
                }
                "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight" if e.shift_key() => {
                    // Keyboard users move nodes with Shift+arrows.
                    e.prevent_default();
                    e.stop_propagation();
                    let (dx, dy) = match e.key().as_str() {
                        "ArrowUp" => (0, -20),
                        "ArrowDown" => (0, 20),
                        "ArrowLeft" => (-20, 0),
                        _ => (20, 0),
                    };
                    if let Some(s) = self.session.as_ref() {
                        if let Some((x, y)) = s.topology().node(&name).map(|n| (n.x, n.y)) {
                            // Arrows move on screen; the scenario may be drawn turned.
                            let (x, y) = s.to_scenario_xy(x + dx as f32, y + dy as f32);
                            self.apply_edit(Edit::Move { name, x, y });
                        }
                    }
                }
                _ => return false,
            },
            Msg::HandleDown(name, e) => {
                let (x, y) = self.to_model(&e).unwrap_or((0.0, 0.0));
                self.drag = Some(Drag::Connect { from: name, x, y });
                if let Some(svg) = self.svg.cast::<web_sys::Element>() {
                    let _ = svg.set_pointer_capture(e.pointer_id());
                }
            }
            Msg::PointerMove(e) => {
                let Some((x, y)) = self.to_model(&e) else {
                    return false;
                };
                match &mut self.drag {
                    Some(Drag::Move {
                        dx,
                        dy,
                        moved,
                        x: nx,
                        y: ny,
                        ..
                    }) => {
                        let (tx, ty) = (x + *dx, y + *dy);
                        if (tx - *nx).abs() + (ty - *ny).abs() > 3.0 || *moved {
                            *moved = true;
                            *nx = tx;
                            *ny = ty;
                            if let (Some(s), Some(Drag::Move { name, .. })) =
                                (self.session.as_mut(), self.drag.as_ref())
                            {
                                s.preview_move(name, tx, ty);
                            }
                            let _ = self.draw_dots();
                            return true;
                        }
                        return false;
                    }
                    Some(Drag::Connect { x: cx, y: cy, .. }) => {
                        *cx = x;
                        *cy = y;
                        return true;
                    }
                    None => return false,
                }
            }
            Msg::PointerUp(e) => match self.drag.take() {
                Some(Drag::Move {
                    name,
                    moved: true,
                    x,
                    y,
                    ..
                }) => {
                    if let Some((x, y)) = self.session.as_ref().map(|s| s.to_scenario_xy(x, y)) {
                        self.apply_edit(Edit::Move { name, x, y });
                    }
                }
                Some(Drag::Connect { from, .. }) => {
                    let target = self.to_model(&e).and_then(|(x, y)| self.node_at(x, y));
                    if let Some(to) = target.filter(|t| *t != from) {
                        self.link_picker = Some((from, to));
                    }
                }
                _ => {}
            },
            Msg::PickLink(kind) => {
                if let (Some((from, to)), Some(kind)) = (self.link_picker.take(), kind) {
                    self.apply_edit(Edit::Connect { from, to, kind });
                }
            }
            Msg::Tab(t) => {
                self.tab = t;
                self.panels_open = true;
            }
            Msg::TogglePanels => self.panels_open = !self.panels_open,
            Msg::Fault(cmd) => {
                if let Some(s) = &mut self.session {
                    if let Err(msg) = s.inject(&cmd) {
                        self.notice = Some(msg);
                    }
                }
                self.after_jump();
            }
            Msg::Edit(edit) => self.apply_edit(edit),
            Msg::Undo | Msg::Redo => {
                let undo = matches!(msg, Msg::Undo);
                let (from, to) = if undo {
                    (&mut self.undo, &mut self.redo)
                } else {
                    (&mut self.redo, &mut self.undo)
                };
                if let (Some(text), Some(s)) = (from.pop(), self.session.as_ref()) {
                    to.push(s.text().to_string());
                    if let Err(e) = self.open_text(&text, false) {
                        self.notice = Some(e.join("\n"));
                    }
                }
            }
            Msg::TextInput(t) => {
                self.draft = t;
                return false;
            }
            Msg::ApplyText => {
                let text = self.draft.clone();
                if let Err(errors) = self.open_text(&text, true) {
                    self.draft = text;
                    self.draft_errors = errors;
                }
            }
            Msg::Export => {
                if let Some(s) = &self.session {
                    let mut name = s.file_stem();
                    name.push_str(".yaml");
                    platform::download(&name, "text/yaml", s.text());
                }
            }
            Msg::ExportPng => {
                let (Some(svg), Some(dots), Some(s)) = (
                    self.svg.cast::<web_sys::Element>(),
                    self.canvas.cast::<web_sys::Element>(),
                    self.session.as_ref(),
                ) else {
                    return false;
                };
                let mut name = s.file_stem();
                name.push('-');
                name.push_str(&s.event_count().to_string());
                name.push_str(".png");
                let link = ctx.link().clone();
                platform::export_png(&svg, &dots, &name, move |r| {
                    if let Err(why) = r {
                        let mut m = String::from("The PNG could not be made: ");
                        m.push_str(&why);
                        link.send_message(Msg::Notice(m));
                    }
                });
                return false;
            }
            Msg::Notice(m) => self.notice = Some(m),
            Msg::Import(text) => {
                if let Err(errors) = self.open_text(&text, true) {
                    self.tab = Tab::Text;
                    self.draft = text;
                    self.draft_errors = errors;
                    self.notice = Some(
                        "The imported file has problems; they are listed in the Text tab.".into(),
                    );
                }
            }
            Msg::CopyLink => {
                if let Some(state) = self.share_state() {
                    let hash = codec::encode_hash(&state);
                    let mut url = platform::base_url();
                    url.push('#');
                    url.push_str(&hash);
                    if url.len() > codec::MAX_LINK_CHARS {
                        let stem = self
                            .session
                            .as_ref()
                            .map(|s| s.file_stem())
                            .unwrap_or_default();
                        platform::download(&(stem + ".yaml"), "text/yaml", &state.text);
                        self.notice = Some("This scenario is too big for a link that chat tools accept, so it was saved as a file instead: share the file and open it with Import.".into());
                    } else {
                        platform::replace_hash(&hash);
                        platform::copy_to_clipboard(&url);
                        self.notice =
                            Some("Link copied: it opens this scenario, seed and event.".into());
                    }
                }
            }
            Msg::DismissNotice => self.notice = None,
            Msg::DismissError => self.error = None,
        }
        true
    }

    fn view_app(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(s) = &self.session else {
            return html! { <div class="app"><header class="top"><h1>{"Switchboard"}</h1></header>
            { self.banner(ctx) }</div> };
        };
        let topo = s.topology();
        let title = s.title().to_string();
        let connecting = match &self.drag {
            Some(Drag::Connect { from, x, y }) => Some((from.as_str(), (*x, *y))),
            _ => None,
        };
        let (vx, vy, vw, vh) = topo.view_box();
        let mut view_box = String::new();
        for (i, v) in [vx, vy, vw, vh].iter().enumerate() {
            if i > 0 {
                view_box.push(' ');
            }
            view_box.push_str(&(*v as i32).to_string());
        }
        // Turned for a portrait phone: the stage takes the drawing's proportions, so the
        // topology fills the screen's width and the page scrolls instead of shrinking it.
        let stage_style = s.portrait().then(|| {
            // `max-width` keeps a wide system from pushing the stage past the screen's edge.
            let mut st = String::from("max-width: 100%; aspect-ratio: ");
            st.push_str(&(vw.round() as i32).to_string());
            st.push_str(" / ");
            st.push_str(&(vh.round() as i32).to_string());
            st
        });
        let svg_body = topology::render(&topology::TopologyProps {
            topo,
            selected: &self.selected,
            connecting,
            on_node_down: link.callback(|(n, e)| Msg::NodeDown(n, e)),
            on_node_key: link.callback(|(n, e)| Msg::NodeKey(n, e)),
            on_handle_down: link.callback(|(n, e)| Msg::HandleDown(n, e)),
            on_edge: link.callback(|k| Msg::Select(Selected::Edge(k))),
        });
        let empty_hint = topo.nodes.is_empty().then(|| html! {
            <p class="empty-hint">{ "An empty canvas. Add a service, a queue or a topic from the palette, then drag from a node's handle to another node to connect them." }</p>
        });
        let onpointermove = link.callback(Msg::PointerMove);
        let onpointerup = link.callback(Msg::PointerUp);
        let on_bg = link.batch_callback(|e: PointerEvent| {
            let on_bg = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .map(|el| el.tag_name() == "svg")
                .unwrap_or(false);
            on_bg.then_some(Msg::Select(Selected::None))
        });
        html! {
            <div class={classes!("app", self.reduced_motion.then_some("reduced"))}>
                <header class="top">
                    <h1><span class="logo" aria-hidden="true">{"⇄"}</span>{"Switchboard"}</h1>
                    <p class="scenario-title" title={title.clone()}>{ title }</p>
                    <nav class="file" aria-label="Scenario">
                        <button type="button" onclick={link.callback(|_| Msg::Overlay(Overlay::Gallery))}>{"Presets"}</button>
                        <button type="button" onclick={link.callback(|_| Msg::New)}>{"New"}</button>
                        <button type="button" disabled={self.undo.is_empty()} onclick={link.callback(|_| Msg::Undo)}>{"Undo"}</button>
                        <button type="button" disabled={self.redo.is_empty()} onclick={link.callback(|_| Msg::Redo)}>{"Redo"}</button>
                        <button type="button" onclick={link.callback(|_| Msg::Export)}>{"Export"}</button>
                        <button type="button" title="A picture of the canvas: topology and messages" onclick={link.callback(|_| Msg::ExportPng)}>{"Export PNG"}</button>
                        { panels::import_button(link.callback(Msg::Import)) }
                        <button type="button" onclick={link.callback(|_| Msg::CopyLink)}>{"Copy link"}</button>
                        <button type="button" class="icon" aria-label="Keyboard shortcuts" onclick={link.callback(|_| Msg::Overlay(Overlay::Help))}>{"?"}</button>
                    </nav>
                </header>
                { self.banner(ctx) }
                <main class="main">
                    { panels::palette(link.callback(Msg::Edit)) }
                    <section class="stage" ref={self.stage.clone()} aria-label="Topology" style={stage_style}>
                        <svg ref={self.svg.clone()} class="topology" viewBox={view_box} preserveAspectRatio="xMidYMid meet"
                             role="group" aria-label="System topology"
                             {onpointermove} {onpointerup} onpointerdown={on_bg}>
                            { svg_body }
                        </svg>
                        <canvas ref={self.canvas.clone()} class="dots" aria-hidden="true"></canvas>
                        { for empty_hint }
                        { self.tour_card(ctx) }
                        { self.link_picker_view(ctx) }
                        { self.legend() }
                    </section>
                    { panels::side(ctx, self.side_props()) }
                </main>
                { self.controls(ctx) }
                { self.overlay_view(ctx) }
            </div>
        }
    }

    fn after_render(&mut self, ctx: &Context<Self>, first_render: bool) {
        if let Some(s) = &self.session {
            if s.event_count() != self.rendered_events && self.tab == Tab::Log {
                // Follow the newest event, the way a terminal log does.
                if let Some(panel) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.query_selector(".tabpanel").ok().flatten())
                {
                    panel.set_scroll_top(panel.scroll_height());
                }
            }
            self.rendered_events = s.event_count();
            self.history.push(s.metrics());
        }
        let _ = self.draw_dots();
        if first_render {
            let link = ctx.link().clone();
            let window = web_sys::window().expect("a window");
            let keys = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                link.send_message(Msg::Key(e))
            });
            let _ =
                window.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
            self.keys = Some(keys);
            // The animation loop re-arms itself every frame; it lives as long as the app.
            let link = ctx.link().clone();
            let holder: std::rc::Rc<std::cell::RefCell<Option<FrameCallback>>> = Default::default();
            let inner = holder.clone();
            let cb = Closure::<dyn FnMut(f64)>::new(move |ts: f64| {
                link.send_message(Msg::Frame(ts));
                if let (Some(w), Some(c)) = (web_sys::window(), inner.borrow().as_ref()) {
                    let _ = w.request_animation_frame(c.as_ref().unchecked_ref());
                }
            });
            let id = window
                .request_animation_frame(cb.as_ref().unchecked_ref())
                .unwrap_or(0);
            *holder.borrow_mut() = Some(cb);
            // The closure is owned by `holder`, which the closure itself keeps alive.
            std::mem::forget(holder);
            let _ = id;
            self.raf = None;
            web_sys::console::log_1(&"switchboard-ready".into());
            if let Some(p) = window.performance() {
                let _ = p.mark("switchboard-ready");
            }
        }
    }
}

impl App {
    /// The selected message's journey (log rows and copies), once per render for canvas and panel.
    fn refresh_journey(&mut self) {
        let (steps, copies) = match (self.message, &self.session) {
            (Some(m), Some(s)) => s.journey(m),
            _ => Default::default(),
        };
        self.journey_steps = steps;
        self.journey = copies;
    }

    fn side_props(&self) -> panels::SideProps<'_> {
        let s = self.session.as_ref().unwrap();
        panels::SideProps {
            session: s,
            tab: self.tab,
            selected: &self.selected,
            message: self.message,
            journey: &self.journey,
            journey_steps: &self.journey_steps,
            draft: &self.draft,
            draft_errors: &self.draft_errors,
            history: &self.history,
            playing: self.playing,
            field_error: self.field_error.as_ref(),
            open: self.panels_open,
        }
    }

    fn banner(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let error = self.error.as_ref().map(|e| html! {
            <div class="banner error" role="alert">
                <p><strong>{"Something went wrong: "}</strong>{ e.clone() }</p>
                <button type="button" onclick={link.callback(|_| Msg::Reset)}>{"Reset the run"}</button>
                <button type="button" onclick={link.callback(|_| Msg::DismissError)}>{"Dismiss"}</button>
            </div>
        });
        let notice = self.notice.as_ref().map(|n| html! {
            <div class="banner notice" role="status">
                <p>{ n.clone() }</p>
                <button type="button" aria-label="Dismiss message" onclick={link.callback(|_| Msg::DismissNotice)}>{"✕"}</button>
            </div>
        });
        html! { <div class="banners">{ for error }{ for notice }</div> }
    }

    fn controls(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let s = self.session.as_ref().unwrap();
        let n = s.event_count();
        let horizon = s.horizon().max(n);
        let at_start = n == 0;
        let done = s.finished();
        let speed_change = link.callback(|e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Msg::SetSpeed(v.parse().unwrap_or(2))
        });
        let seek = link.callback(|e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            Msg::Seek(v.parse().unwrap_or(0))
        });
        let mut pos = String::from("event ");
        pos.push_str(&n.to_string());
        pos.push_str(" · ");
        pos.push_str(&fmt_ms(s.now_ms()));
        html! {
            <footer class="controls" aria-label="Playback">
                <button type="button" class="primary" aria-keyshortcuts="Space" disabled={!self.playing && done}
                    onclick={link.callback(|_| Msg::TogglePlay)}>{ if self.playing { "Pause" } else { "Play" } }</button>
                <button type="button" aria-keyshortcuts="ArrowRight" disabled={done} onclick={link.callback(|_| Msg::Step)}>{"Step"}</button>
                <button type="button" aria-keyshortcuts="ArrowLeft" disabled={at_start} onclick={link.callback(|_| Msg::StepBack)}>{"Step back"}</button>
                <button type="button" aria-keyshortcuts="R" disabled={at_start} onclick={link.callback(|_| Msg::Reset)}>{"Reset"}</button>
                <label class="speed">{"Speed "}
                    <select aria-label="Speed" onchange={speed_change}>
                        { for SPEEDS.iter().enumerate().map(|(i, (_, l))| html! { <option value={i.to_string()} selected={i == self.speed}>{ *l }</option> }) }
                    </select>
                </label>
                <input class="timeline" type="range" aria-label="Timeline" min="0" max={horizon.to_string()} value={n.to_string()}
                    aria-valuetext={pos.clone()} oninput={seek} />
                <output class="position" aria-live="off">{ pos }</output>
            </footer>
        }
    }

    fn legend(&self) -> Html {
        html! {
            <details class="legend">
                <summary>{"Legend"}</summary>
                <ul>
                    <li><svg width="28" height="10" aria-hidden="true"><line x1="0" y1="5" x2="28" y2="5" class="legend-rpc" /></svg>{" RPC call (caller waits)"}</li>
                    <li><svg width="28" height="10" aria-hidden="true"><line x1="0" y1="5" x2="28" y2="5" class="legend-msg" /></svg>{" messaging"}</li>
                    <li><span class="dot-sample" aria-hidden="true"></span>{" message (colour = FIFO group)"}</li>
                    <li><span class="dot-sample ring" aria-hidden="true"></span>{" duplicate delivery"}</li>
                    <li><span class="dot-sample square" aria-hidden="true"></span>{" redelivery"}</li>
                    <li>{"▤ waiting · ✈ in flight · ☠ dead-lettered"}</li>
                </ul>
            </details>
        }
    }

    fn tour_card(&self, ctx: &Context<Self>) -> Html {
        let (Some(i), Some(s)) = (self.tour, self.session.as_ref()) else {
            return html! {};
        };
        let steps: &[TourStep] = s.tour();
        let Some(step) = steps.get(i) else {
            return html! {};
        };
        let link = ctx.link();
        let mut count = (i + 1).to_string();
        count.push_str(" / ");
        count.push_str(&steps.len().to_string());
        html! {
            <aside class="tour" aria-label="Guided tour" aria-live="polite">
                <p class="count">{ count }</p>
                <h2>{ step.title.clone() }</h2>
                <p>{ inline_code(&step.text) }</p>
                <div class="row">
                    <button type="button" disabled={i == 0} onclick={link.callback(|_| Msg::TourPrev)}>{"Previous"}</button>
                    <button type="button" class="primary" disabled={i + 1 >= steps.len()} onclick={link.callback(|_| Msg::TourNext)}>{"Next"}</button>
                    <button type="button" aria-label="Close the tour" onclick={link.callback(|_| Msg::TourClose)}>{"✕"}</button>
                </div>
            </aside>
        }
    }

    fn link_picker_view(&self, ctx: &Context<Self>) -> Html {
        let Some((from, to)) = &self.link_picker else {
            return html! {};
        };
        let link = ctx.link();
        let mut title = String::from("Connect ");
        title.push_str(from);
        title.push_str(" → ");
        title.push_str(to);
        html! {
            <div class="picker" role="dialog" aria-label="Choose the link kind">
                <p>{ title }</p>
                { for EdgeKind::ALL.iter().map(|k| { let k = *k; html! {
                    <button type="button" onclick={link.callback(move |_| Msg::PickLink(Some(k)))}>{ k.label() }</button>
                }}) }
                <button type="button" onclick={link.callback(|_| Msg::PickLink(None))}>{"Cancel"}</button>
            </div>
        }
    }

    fn overlay_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let close = link.callback(|_| Msg::Overlay(Overlay::None));
        match self.overlay {
            Overlay::None => html! {},
            Overlay::Help => html! {
                <div class="overlay" onclick={close.clone()}>
                    <div class="dialog" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onclick={|e: MouseEvent| e.stop_propagation()}>
                        <h2>{"Keyboard shortcuts"}</h2>
                        <dl class="keys">
                            <dt><kbd>{"Space"}</kbd></dt><dd>{"Play / Pause"}</dd>
                            <dt><kbd>{"→"}</kbd></dt><dd>{"Step: one event forward"}</dd>
                            <dt><kbd>{"←"}</kbd></dt><dd>{"Step back: one event back"}</dd>
                            <dt><kbd>{"R"}</kbd></dt><dd>{"Reset to the start"}</dd>
                            <dt><kbd>{"?"}</kbd></dt><dd>{"Show or hide this help"}</dd>
                            <dt><kbd>{"Ctrl Z"}</kbd>{" / "}<kbd>{"Ctrl Shift Z"}</kbd></dt><dd>{"Undo / Redo an edit"}</dd>
                            <dt><kbd>{"Delete"}</kbd></dt><dd>{"Delete the selected node or link"}</dd>
                            <dt><kbd>{"Shift ↑↓←→"}</kbd></dt><dd>{"Move the focused node"}</dd>
                            <dt><kbd>{"Esc"}</kbd></dt><dd>{"Close dialogs"}</dd>
                        </dl>
                        <button type="button" onclick={close}>{"Close"}</button>
                    </div>
                </div>
            },
            Overlay::Gallery => html! {
                <div class="overlay" onclick={close.clone()}>
                    <div class="dialog gallery" role="dialog" aria-modal="true" aria-label="Presets" onclick={|e: MouseEvent| e.stop_propagation()}>
                        <h2>{"Presets"}</h2>
                        <ul>
                            { for super::presets::ALL.iter().enumerate().map(|(i, p)| {
                                let busy = self.loading == Some(i);
                                html! { <li><button type="button" class="preset" aria-busy={busy.to_string()} disabled={self.loading.is_some()} onclick={link.callback(move |_| Msg::LoadPreset(i))}>
                                    <strong>{ p.title }</strong><span class="stem">{ if busy { "loading…" } else { p.stem } }</span><span class="desc">{ p.summary }</span>
                                </button></li> }
                            }) }
                        </ul>
                        <button type="button" onclick={close}>{"Close"}</button>
                    </div>
                </div>
            },
        }
    }
}

/// The log rows as the side panel shows them (kept here so panels stay pure renderers).
pub fn log_rows(s: &Session, limit: usize) -> Vec<LogEntryView> {
    s.log(limit)
}

/// Renders narrative text with Markdown-style `code` spans as `<code>` elements. Everything stays a
/// text node (scenario text is never parsed as HTML); an unmatched backtick is shown as is.
fn inline_code(text: &str) -> Html {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() % 2 == 0 {
        return html! { { text.to_string() } };
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                html! { <code>{ part.to_string() }</code> }
            } else {
                html! { { part.to_string() } }
            }
        })
        .collect::<Html>()
}
