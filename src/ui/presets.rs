//! The preset gallery: a small manifest (file stem, title, one-line summary) of the scenarios in
//! `static/scenarios/` (the same files the tests and the CLI read). Only the welcome tour is
//! embedded, so the first Step is instant; the others are fetched from `scenarios/<stem>.yaml`
//! when picked (Trunk copies the folder next to the page), which keeps ~35 KB of YAML out of the
//! wasm bundle. A test checks the manifest against the files: a new preset file needs its line
//! here (title as in the file, summary from its description's opening). The loaded scenario's
//! own title is what the header shows.

/// "New": an empty canvas that is still a valid scenario.
pub const EMPTY: &str = "version: 1\ntitle: Untitled system\nduration: 60s\n";

/// The stem of the embedded preset the page opens on.
pub const WELCOME: &str = "welcome";

const WELCOME_TEXT: &str = include_str!("../../static/scenarios/welcome.yaml");

/// One gallery entry.
pub struct Preset {
    pub stem: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

const fn p(stem: &'static str, title: &'static str, summary: &'static str) -> Preset {
    Preset {
        stem,
        title,
        summary,
    }
}

/// The gallery, in order. The first one is the welcome tour.
pub const ALL: &[Preset] = &[
    p("welcome", "Welcome to Switchboard", "A shop sends orders to a queue; two workers share the work."),
    p("s01-broker", "S01b: The same five services around a broker", "The five services of s01-mesh.yaml, now each attached once to a queue or topic."),
    p("s01-mesh", "S01a: Point-to-point mesh", "Five services that all call each other directly."),
    p("s03-rpc-vs-message", "S03: Shipping → Billing, by RPC and by message", "Shipping renames a user once a second and tells billing."),
    p("s04-knot", "S04: The knot of RPC calls vs the same services wired by messages", "Six services."),
    p("s05-christmas-tree", "S05: Christmas-tree lights", "Top lane: a gateway calls A, which calls B, which calls C, each synchronously."),
    p("s06-rest-edge-async-inside", "S06: REST at the edge, asynchronous inside", "Clients call the order API over HTTP-style RPC."),
    p("s07-load-levelling", "S07: Queue-based load levelling", "A burst of 100 requests a second for 10 seconds meets a worker that handles 20 a second."),
    p("s09-music-store", "S09: The music store gets started with SQS", "The storefront sends album orders to the queue \"orders\"; a clerk works them by hand with the SQS API."),
    p("s10-competing-consumers", "S10: Competing consumers", "Three workers read the same queue."),
    p("s11-pubsub-over-sqs", "S11: Pub/sub over SQS: a topic vs a subscriber table", "Top lane: an SNS-style topic copies each event to every subscribed queue whose filter matches."),
    p("s12-fanout-crash-duplicates", "S12: A fan-out worker crashes halfway: partial duplicates", "A router reads each event from its inbound queue and copies it to the queue of every subscriber in its table."),
    p("s13-subscriber-isolation", "S13: Subscriber isolation: email offline for two minutes", "Orders are published once a second to a topic with one queue per subscriber: billing and email."),
    p("s14-fifo-sync-baseline", "S14: FIFO, one group — throughput does not grow with consumers", "The synchronous baseline of strict ordering: one message group, 100ms of work per message."),
    p("s16-dedup-window", "S16/S17: A lost acknowledgement, retried inside vs after the deduplication window", "A producer's send succeeded but it never heard back, so it sends the same order again."),
    p("s18-content-dedup", "S18: Content-based deduplication eats a real event", "Ana likes a post, unlikes it, and likes it again 30 seconds later: two real \"like\" events with identical bodies."),
    p("s19-receive-attempt-id", "S19: A lost receive response and ReceiveRequestAttemptId", "Two clients, each with its own FIFO queue holding orders 1–3 of group A."),
    p("s20-fifo-head-of-line", "S20: FIFO head-of-line blocking, other groups flowing", "Two customers' orders share one FIFO queue, one message group per customer."),
    p("s21-visibility-timeout", "S21: A consumer paused past its visibility timeout", "Both lanes: one order, a queue with a 10-second visibility timeout, and a worker that stalls for 15 seconds."),
    p("s22-consumers-vs-groups", "S22: Many consumers, few groups", "Three FIFO queues, each with the same backlog of 300 orders and the same five consumers."),
    p("s23-commit-reordering", "S23: Two consumers reorder the ledger; one FIFO group does not", "A shop sends two payments, m1 then m2, 50ms apart."),
    p("s24-idempotent-consumers", "S24: Idempotent vs naive consumers", "Both lanes receive the same 20 payments."),
    p("s26-durable-pubsub", "S26: Durable pub/sub: an offline subscriber loses nothing", "The \"DocumentFiled\" event goes to a topic with one SQS queue per subscriber."),
    p("s29-style-shootout", "S29: One workflow, three integration styles", "The same order workflow wired three ways, under the same downstream outage."),
];

/// The page opens on the welcome preset.
pub fn welcome() -> &'static str {
    WELCOME_TEXT
}

/// Where a preset's text is served, relative to the page (works under any base path).
pub fn url(stem: &str) -> String {
    let mut u = String::from("scenarios/");
    u.push_str(stem);
    u.push_str(".yaml");
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_manifest_lists_every_scenario_file_with_its_title() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static/scenarios");
        let mut stems: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".yaml").map(str::to_string)
            })
            .collect();
        stems.sort();
        let mut listed: Vec<String> = ALL.iter().map(|p| p.stem.to_string()).collect();
        listed.sort();
        assert_eq!(listed, stems, "presets::ALL and static/scenarios/ differ");
        for p in ALL {
            let text = std::fs::read_to_string(format!("{dir}/{}.yaml", p.stem)).unwrap();
            let s = crate::scenario::load(&text).unwrap_or_else(|_| panic!("{} loads", p.stem));
            // Wording may be polished in the file; the lesson code ("S07") and stem must agree.
            let code = |t: &str| t.split(':').next().unwrap_or("").to_string();
            assert_eq!(code(p.title), code(&s.title), "title of {}", p.stem);
            assert!(!p.summary.is_empty() && !words(&s.description).is_empty());
        }
        assert_eq!(ALL[0].stem, WELCOME);
    }

    #[test]
    fn preset_urls_are_relative_to_the_page() {
        assert_eq!(
            url("s10-competing-consumers"),
            "scenarios/s10-competing-consumers.yaml"
        );
    }
}
