//! The side panels (event log, metrics, inspector, scenario text) and the build palette.
//! Pure renderers of view-models; every change is a message back to the app.

use super::app::{App, Msg};
use super::session::{Edit, FaultCmd, Field, Inspectable, MetricsView, NewNode, Session, Verdict};
use super::topology::Selected;
use super::view::{fmt_ms, EdgeKind};
use web_sys::wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Clone, Copy, PartialEq)]
pub enum Tab {
    Log,
    Metrics,
    Inspect,
    Text,
}

pub struct SideProps<'a> {
    pub session: &'a Session,
    pub tab: Tab,
    pub selected: &'a Selected,
    pub message: Option<u64>,
    /// Message ids of every copy in the selected message's journey (sorted).
    pub journey: &'a [u64],
    /// That journey's events as log rows.
    pub journey_steps: &'a [super::view::LogEntryView],
    pub draft: &'a str,
    pub draft_errors: &'a [String],
    pub history: &'a MetricHistory,
    pub playing: bool,
    pub field_error: Option<&'a super::app::FieldError>,
    /// Phones: the panel body can be folded away under the stage (the tabs stay).
    pub open: bool,
}

/// How many log rows are in the DOM at once: the newest ones up to the current event. While
/// playing, rows scroll past faster than anyone reads them and every render re-diffs them, so
/// fewer are kept; paused, the log shows more history.
const LOG_ROWS: usize = 250;
const LOG_ROWS_PLAYING: usize = 60;

pub fn side(ctx: &Context<App>, p: SideProps<'_>) -> Html {
    let link = ctx.link();
    let tab = |t: Tab, label: &'static str, id: &'static str| {
        let selected = p.tab == t;
        html! { <button type="button" role="tab" id={id} aria-selected={if selected { "true" } else { "false" }}
        tabindex={if selected { "0" } else { "-1" }}
        onclick={link.callback(move |_| Msg::Tab(t))}>{ label }</button> }
    };
    let body = match p.tab {
        Tab::Log => log(ctx, &p),
        Tab::Metrics => metrics(p.session.metrics(), p.history, p.selected),
        Tab::Inspect => inspector(ctx, &p),
        Tab::Text => text(ctx, &p),
    };
    html! {
        <aside class={classes!("side", (!p.open).then_some("collapsed"))}>
            <div class="side-head">
                <div class="tabs" role="tablist" aria-label="Panels">
                    { tab(Tab::Log, "Log", "tab-log") }
                    { tab(Tab::Metrics, "Metrics", "tab-metrics") }
                    { tab(Tab::Inspect, "Inspector", "tab-inspect") }
                    { tab(Tab::Text, "Text", "tab-text") }
                </div>
                <button type="button" class="panels-toggle" aria-expanded={p.open.to_string()} aria-controls="side-panel"
                    onclick={link.callback(|_| Msg::TogglePanels)}>{ if p.open { "Hide" } else { "Show" } }</button>
            </div>
            <div class="tabpanel" id="side-panel" role="tabpanel" tabindex="0" key={match p.tab { Tab::Log => "log", Tab::Metrics => "metrics", Tab::Inspect => "inspect", Tab::Text => "text" }}>{ body }</div>
        </aside>
    }
}

fn log(ctx: &Context<App>, p: &SideProps<'_>) -> Html {
    let link = ctx.link();
    let rows = p.session.log(if p.playing {
        LOG_ROWS_PLAYING
    } else {
        LOG_ROWS
    });
    let journey = p.message.map(|m| {
        let (steps, copies) = (p.journey_steps, p.journey);
        let mut title = String::from("Journey of m");
        title.push_str(&m.to_string());
        // Fan-out copies and redeliveries share the origin, so they are one journey.
        let copies_note = (copies.len() > 1).then(|| {
            let mut t = copies.len().to_string();
            t.push_str(" copies: ");
            for (i, c) in copies.iter().take(12).enumerate() {
                if i > 0 {
                    t.push_str(", ");
                }
                t.push('m');
                t.push_str(&c.to_string());
            }
            if copies.len() > 12 {
                t.push_str(", …");
            }
            html! { <p class="copies">{ t }</p> }
        });
        html! {
            <section class="journey" aria-label={title.clone()}>
                <h3>{ title }<button type="button" class="small" onclick={link.callback(|_| Msg::SelectMessage(None))}>{"Clear"}</button></h3>
                { for copies_note }
                <ol>{ for steps.iter().map(|e| {
                    let label = e.message.map(|m| { let mut l = String::from("m"); l.push_str(&m.to_string()); l });
                    html! { <li><time>{ fmt_ms(e.t_ms) }</time>{" "}{ for label.map(|l| html! { <span class="msg-id">{ l }</span> }) }{" "}{ e.text.clone() }</li> }
                }) }</ol>
            </section>
        }
    });
    let faults = p.session.fault_list();
    let fault_list = (!faults.is_empty()).then(|| {
        html! {
            <section class="faults" aria-label="Faults">
                <h3>{"Faults"}</h3>
                <ul>{ for faults.iter().map(|f| html! { <li>{ f.clone() }</li> }) }</ul>
            </section>
        }
    });
    let hidden = p.session.event_count().saturating_sub(rows.len() as u64);
    html! {
        <>
            { for journey }
            { for fault_list }
            // The live region wraps the list, so the rows keep their list semantics.
            <div role="log" aria-label="Event log" aria-live="polite">
            <ol class="log">
                { for (hidden > 0).then(|| { let mut t = hidden.to_string(); t.push_str(" earlier events (use the timeline)"); html! { <li class="earlier">{ t }</li> } }) }
                { for rows.iter().map(|e| {
                    let index = e.index;
                    let msg = e.message;
                    let onclick = link.callback(move |_| Msg::Seek(index + 1));
                    let select = msg.map(|m| {
                        let mut l = String::from("m");
                        l.push_str(&m.to_string());
                        let mut aria = String::from("Show the journey of message ");
                        aria.push_str(&l);
                        html! { <button type="button" class="msg" aria-label={aria} onclick={link.callback(move |_| Msg::SelectMessage(Some(m)))}>{ l }</button> }
                    });
                    html! {
                        <li key={e.index.to_string()} class={classes!(e.fault.then_some("fault"), msg.is_some_and(|m| p.journey.binary_search(&m).is_ok()).then_some("hl"))}>
                            <button type="button" class="jump" {onclick}>
                                <time>{ fmt_ms(e.t_ms) }</time>{" "}<span>{ e.text.clone() }</span>
                            </button>
                            { for select }
                        </li>
                    }
                }) }
            </ol>
            </div>
        </>
    }
}

/// Metric samples over the run, for the sparkline charts. Bounded: halves itself when full.
#[derive(Default)]
pub struct MetricHistory {
    pub points: Vec<(u64, MetricsView)>,
}

const MAX_POINTS: usize = 240;

impl MetricHistory {
    pub fn clear(&mut self) {
        self.points.clear();
    }

    pub fn push(&mut self, m: &MetricsView) {
        match self.points.last() {
            Some((t, _)) if *t == m.t_ms => return,
            Some((t, _)) if *t > m.t_ms => {
                // The run went back in time (step back, seek): forget the future.
                self.points.retain(|(pt, _)| *pt <= m.t_ms);
            }
            _ => {}
        }
        // The sample keeps only what the charts read (no expectation texts, no latency table).
        let mut sample = m.clone();
        sample.expectations = Vec::new();
        sample.latency = Vec::new();
        self.points.push((m.t_ms, sample));
        if self.points.len() > MAX_POINTS {
            let mut keep = false;
            self.points.retain(|_| {
                keep = !keep;
                keep
            });
        }
    }
}

fn sparkline(label: &str, hist: &MetricHistory, f: impl Fn(&MetricsView) -> f64) -> Html {
    let pts = &hist.points;
    if pts.len() < 2 {
        return html! { <svg class="spark" viewBox="0 0 120 30" role="img" aria-label={label.to_string()} /> };
    }
    let (t0, t1) = (pts[0].0 as f64, pts[pts.len() - 1].0 as f64);
    let max = pts
        .iter()
        .map(|(_, m)| f(m))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let mut d = String::new();
    for (t, m) in pts {
        let x = if t1 > t0 {
            (*t as f64 - t0) / (t1 - t0) * 118.0 + 1.0
        } else {
            1.0
        };
        let y = 29.0 - f(m) / max * 27.0;
        d.push_str(&(x as i32).to_string());
        d.push(',');
        d.push_str(&(y as i32).to_string());
        d.push(' ');
    }
    html! { <svg class="spark" viewBox="0 0 120 30" role="img" aria-label={label.to_string()}><polyline points={d} /></svg> }
}

fn metrics(m: &MetricsView, hist: &MetricHistory, selected: &Selected) -> Html {
    let row = |name: String, value: String, chart: Html| {
        html! {
            <div class="metric"><dt>{ name }</dt><dd>{ value }</dd><dd class="chart">{ chart }</dd></div>
        }
    };
    let none = || html! {};
    // One decimal without float formatting (which would add ~14 KB of core::fmt to the wasm).
    let tenths = (m.throughput_per_s * 10.0).round().max(0.0) as u64;
    let mut tput = (tenths / 10).to_string();
    tput.push('.');
    tput.push_str(&(tenths % 10).to_string());
    tput.push_str(" /s");
    let mut tput_label = String::from("Throughput (last ");
    tput_label.push_str(&fmt_secs(m.window_ms));
    tput_label.push(')');
    let selected_service = match selected {
        Selected::Node(n) => Some(n.as_str()),
        _ => None,
    };
    let latency = if m.latency.is_empty() {
        html! { <p class="hint">{"End-to-end latency appears per service once one has handled a message."}</p> }
    } else {
        html! {
            <table class="latency">
                <caption>{"End-to-end latency per service (send → handled, ms)"}</caption>
                <thead><tr><th scope="col">{"Service"}</th><th scope="col">{"handled"}</th><th scope="col">{"p50"}</th><th scope="col">{"p95"}</th><th scope="col">{"p99"}</th></tr></thead>
                <tbody>{ for m.latency.iter().map(|l| html! {
                    <tr class={classes!((selected_service == Some(l.service.as_str())).then_some("sel"))}>
                        <th scope="row">{ l.service.clone() }</th><td>{ l.handled }</td><td>{ l.p50 }</td><td>{ l.p95 }</td><td>{ l.p99 }</td>
                    </tr>
                }) }</tbody>
            </table>
        }
    };
    html! {
        <section class="metrics" aria-label="Metrics">
            <dl>
                { row(tput_label, tput, sparkline("Throughput over time", hist, |m| m.throughput_per_s)) }
                { row("Handled".into(), m.handled.to_string(), none()) }
                { row("Slowest p95 latency".into(), m.p95.map(|v| { let mut s = v.to_string(); s.push_str(" ms"); s }).unwrap_or_else(|| "–".into()), sparkline("Slowest service's p95 latency over time", hist, |m| m.p95.unwrap_or(0) as f64)) }
                { row("Queue depth".into(), m.depth.to_string(), sparkline("Queue depth over time", hist, |m| m.depth as f64)) }
                { row("In flight".into(), m.in_flight.to_string(), none()) }
                { row("Duplicates".into(), m.duplicates.to_string(), none()) }
                { row("Order violations".into(), m.order_violations.to_string(), none()) }
                { row("Dead-lettered".into(), m.dead_lettered.to_string(), none()) }
                { row("RPC errors".into(), m.rpc_errors.to_string(), none()) }
                { row("RPC timeouts".into(), m.rpc_timeouts.to_string(), none()) }
                { row("Connections".into(), m.connections.to_string(), none()) }
            </dl>
            { latency }
            { for (!m.expectations.is_empty()).then(|| html! {
                <section class="expect" aria-label="Expectations">
                    <h3>{"Expectations"}</h3>
                    <ul>{ for m.expectations.iter().map(|(text, verdict, why)| {
                        let (class, mark, sr) = match verdict {
                            Verdict::Pending => ("pending", "pending · ", "until the run ends: "),
                            Verdict::Pass => ("pass", "✔ ", "holds: "),
                            Verdict::Fail => ("fail", "✘ ", "does not hold: "),
                        };
                        html! {
                            <li class={class}>
                                <span aria-hidden="true">{ mark }</span>
                                <span class="sr-only">{ sr }</span>
                                <code>{ text.clone() }</code><small>{ why.clone() }</small>
                            </li>
                        }
                    }) }</ul>
                </section>
            }) }
        </section>
    }
}

/// `10 s`, `2.5 s` for a window length.
fn fmt_secs(ms: u64) -> String {
    let mut s = (ms / 1000).to_string();
    if ms % 1000 != 0 && ms < 10_000 {
        s.push('.');
        s.push_str(&((ms % 1000) / 100).to_string());
    }
    s.push_str(" s");
    s
}

fn inspector(ctx: &Context<App>, p: &SideProps<'_>) -> Html {
    let link = ctx.link();
    let Some(item) = p.session.inspect(p.selected) else {
        return html! { <p class="hint">{"Select a service, queue, topic or link on the canvas to see and edit its properties, or to break it."}</p> };
    };
    let target = p.selected.clone();
    let refused = p.field_error.filter(|e| e.target == *p.selected);
    let fields = item.fields.iter().map(|f: &Field| {
        let key = f.key;
        let refused = refused.filter(|e| e.key == key);
        let error = refused.map(|e| e.message.clone()).or_else(|| f.error.clone());
        let value = refused.map(|e| e.value.clone()).unwrap_or_else(|| f.value.clone());
        let t = target.clone();
        let id = {
            let mut s = String::from("f-");
            s.push_str(key);
            s
        };
        let onchange = link.callback(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            let value = if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
                if i.type_() == "checkbox" { if i.checked() { "true".to_string() } else { "false".to_string() } } else { i.value() }
            } else if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
                s.value()
            } else if let Some(t) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                t.value()
            } else {
                String::new()
            };
            Msg::Edit(Edit::Set { target: t.clone(), key, value })
        });
        let mut err_id = id.clone();
        err_id.push_str("-err");
        let invalid = error.is_some().to_string();
        let input = match &f.options {
            Some(opts) => html! {
                <select id={id.clone()} {onchange} aria-invalid={invalid} aria-describedby={err_id.clone()}>
                    { for opts.iter().map(|o| html! { <option value={o.clone()} selected={*o == value}>{ o.clone() }</option> }) }
                </select>
            },
            None if f.boolean => html! { <input id={id.clone()} type="checkbox" checked={value == "true"} {onchange} /> },
            None if f.multiline => html! { <textarea id={id.clone()} class="code" rows="5" spellcheck="false" value={value} {onchange}
                               aria-invalid={invalid} aria-describedby={err_id.clone()} /> },
            None => html! { <input id={id.clone()} type="text" value={value} {onchange}
                               aria-invalid={invalid} aria-describedby={err_id.clone()} /> },
        };
        html! {
            <div class={classes!("field", error.is_some().then_some("invalid"))}>
                <label for={id}>{ f.label }</label>
                { input }
                <span class="field-error" id={err_id} role="status">{ error.unwrap_or_default() }</span>
                { for f.help.map(|h| html! { <small>{ h }</small> }) }
            </div>
        }
    });
    let actions = item.faults.iter().map(|(label, cmd)| {
        let cmd: FaultCmd = cmd.clone();
        html! { <button type="button" class="danger" onclick={link.callback(move |_| Msg::Fault(cmd.clone()))}>{ *label }</button> }
    });
    let del = p.selected.clone();
    html! {
        <section class="inspector" aria-label="Inspector">
            <h2>{ item.title.clone() }</h2>
            <p class="kind">{ item.kind }</p>
            { for (!item.faults.is_empty()).then(|| html! { <div class="break" role="group" aria-label="Break it">
                <h3>{"Break it"}</h3>{ for actions }
            </div> }) }
            <form onsubmit={|e: SubmitEvent| e.prevent_default()}>{ for fields }</form>
            <button type="button" class="danger-outline" onclick={link.callback(move |_| Msg::Edit(Edit::Delete(del.clone())))}>{"Delete"}</button>
        </section>
    }
}

fn text(ctx: &Context<App>, p: &SideProps<'_>) -> Html {
    let link = ctx.link();
    let oninput = link.callback(|e: InputEvent| {
        Msg::TextInput(
            e.target_unchecked_into::<web_sys::HtmlTextAreaElement>()
                .value(),
        )
    });
    html! {
        <section class="text" aria-label="Scenario text">
            <label for="scenario-text">{"Scenario (YAML). Apply to rebuild the system and the run."}</label>
            <textarea id="scenario-text" spellcheck="false" value={p.draft.to_string()} {oninput}
                aria-invalid={(!p.draft_errors.is_empty()).to_string()} aria-describedby="text-errors" />
            <div class="row">
                <button type="button" class="primary" onclick={link.callback(|_| Msg::ApplyText)}>{"Apply text"}</button>
            </div>
            <ul id="text-errors" class="diagnostics" role="status">
                { for p.draft_errors.iter().map(|e| html! { <li>{ e.clone() }</li> }) }
            </ul>
        </section>
    }
}

pub fn palette(on: Callback<Edit>) -> Html {
    let item = |label: &'static str, icon: &'static str, node: NewNode| {
        let on = on.clone();
        let mut aria = String::from("Add ");
        aria.push_str(label);
        html! { <button type="button" class="pal" aria-label={aria} title={label} onclick={move |_| on.emit(Edit::Add { node })}>
            <span class="pal-icon" aria-hidden="true">{ icon }</span><span class="pal-label">{ label }</span>
        </button> }
    };
    html! {
        <nav class="palette" aria-label="Palette">
            { item("service", "▭", NewNode::Service) }
            { item("queue", "▤", NewNode::Queue) }
            { item("FIFO queue", "▥", NewNode::FifoQueue) }
            { item("topic", "⬡", NewNode::Topic) }
        </nav>
    }
}

pub fn import_button(on: Callback<String>) -> Html {
    let onchange = Callback::from(move |e: Event| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        if file.size() > 2_000_000.0 {
            on.emit(String::from("# refused: the file is larger than 2 MB\n"));
            return;
        }
        let Ok(reader) = web_sys::FileReader::new() else {
            return;
        };
        let on = on.clone();
        let r2 = reader.clone();
        let cb = web_sys::wasm_bindgen::closure::Closure::once_into_js(
            move |_: web_sys::ProgressEvent| {
                if let Some(text) = r2.result().ok().and_then(|v| v.as_string()) {
                    on.emit(text);
                }
            },
        );
        reader.set_onload(Some(cb.unchecked_ref()));
        let _ = reader.read_as_text(&file);
    });
    html! {
        <label class="button">{"Import"}
            <input type="file" class="visually-hidden" accept=".yaml,.yml,.json,text/yaml,application/json" {onchange} />
        </label>
    }
}

// Keep EdgeKind and Inspectable in scope for readers of this module's API.
#[allow(unused)]
fn _types(_: EdgeKind, _: Inspectable) {}
