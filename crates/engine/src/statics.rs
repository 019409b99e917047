//! `Statics`: the immutable part of a world (the validated spec, names, the link index, message
//! templates parsed once and their rendering), shared by every checkpoint through one `Arc` so a
//! checkpoint clones only mutable state.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::broker::{AttributeValue, MessageAttributes, QueueId, SubscriptionTarget, TopicId};
use crate::ids::{LinkId, ServiceId};
use crate::spec::{
    ApiCall, Behaviour, ConsumerSpec, EventMatch, FaultAction, FaultSpec, Limits, LinkKind,
    LinkSpec, MessageTemplate, Node, ProducerSpec, RpcServerSpec, ScriptSpec, ServiceSpec, Step,
    Target, Trigger, WorldSpec,
};
use crate::world::{build_error, BuildError};

/// Playground limits on a world's size (bad input never exhausts memory).
pub const MAX_SERVICES: u32 = 10_000;
pub const MAX_LINKS: u32 = 100_000;
pub const MAX_FAULTS: u32 = 10_000;
pub const MAX_CHAIN_STEPS: u32 = 64;
pub const MAX_SCRIPT_CALLS: u32 = 100_000;
/// Longest accepted run, 30 days of virtual time.
pub const MAX_UNTIL_MS: u64 = 30 * 86_400_000;
pub const MAX_EVENTS: u64 = 100_000_000;

/// Names of everything, by id, for explanations and the trace.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub services: Vec<String>,
    pub queues: Vec<String>,
    pub topics: Vec<String>,
    pub links: Vec<String>,
    /// By `SubscriptionId` (broker-wide, in creation order: topics in order, then their subscriptions).
    pub subscriptions: Vec<String>,
    /// Idempotency stores by index: shared stores carry their name, a consumer's private store
    /// is named after the consumer.
    pub stores: Vec<String>,
    /// By service: the index of its shared (named) idempotency store, if it uses one.
    pub(crate) shared_store_of: Vec<Option<u32>>,
}

impl Names {
    pub fn service(&self, id: ServiceId) -> &str {
        self.services.get(id.0 as usize).map_or("?", |s| s.as_str())
    }
    pub fn queue_name(&self, id: QueueId) -> &str {
        self.queues.get(id.0 as usize).map_or("?", |s| s.as_str())
    }
    pub fn topic_name(&self, id: TopicId) -> &str {
        self.topics.get(id.0 as usize).map_or("?", |s| s.as_str())
    }
    pub fn link(&self, id: LinkId) -> &str {
        self.links.get(id.0 as usize).map_or("?", |s| s.as_str())
    }
    /// The name of the shared idempotency store `service` uses, if any.
    pub fn shared_store(&self, service: ServiceId) -> Option<&str> {
        let store = (*self.shared_store_of.get(service.0 as usize)?)?;
        self.stores.get(store as usize).map(|s| s.as_str())
    }
    pub fn node(&self, node: Node) -> &str {
        match node {
            Node::Service(s) => self.service(s),
            Node::Queue(q) => self.queue_name(q),
            Node::Topic(t) => self.topic_name(t),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Statics {
    pub spec: WorldSpec,
    pub links: Vec<LinkSpec>,
    pub faults: Vec<FaultSpec>,
    pub limits: Limits,
    pub names: Names,
    pub has_event_triggers: bool,
    /// By service: the index of its idempotency store in `names.stores`, or `NO_STORE`.
    pub store_of: Vec<u32>,
    link_index: BTreeMap<(Node, Node), LinkId>,
    /// By service: its producer template, parsed (None for other services).
    producer_templates: Vec<Option<Template>>,
    /// By service, by chain step: the step's template, parsed (None for steps that send
    /// nothing).
    step_templates: Vec<Vec<Option<Template>>>,
}

/// `Statics::store_of` for a service that keeps no idempotency store.
pub(crate) const NO_STORE: u32 = u32::MAX;

impl Statics {
    pub fn build(spec: &WorldSpec) -> Result<Statics, BuildError> {
        validate(spec)?;
        let names = Names {
            services: spec.services.iter().map(|s| s.name.clone()).collect(),
            queues: spec.queues.iter().map(|q| q.name.clone()).collect(),
            topics: spec.topics.iter().map(|t| t.config.name.clone()).collect(),
            links: Vec::new(),
            subscriptions: Vec::new(),
            stores: Vec::new(),
            shared_store_of: Vec::new(),
        };
        let mut subscriptions = Vec::new();
        for topic in &spec.topics {
            for sub in &topic.subscriptions {
                let target = match sub.target {
                    SubscriptionTarget::Queue(q) => names.queue_name(q).to_string(),
                    SubscriptionTarget::Endpoint(e) => names.service(ServiceId(e)).to_string(),
                };
                subscriptions.push(format!("{}->{}", topic.config.name, target));
            }
        }
        let mut link_index = BTreeMap::new();
        let mut link_names = Vec::new();
        for (i, link) in spec.links.iter().enumerate() {
            let id = LinkId(i as u32);
            // A link carries traffic both ways (a request one way, its response back).
            link_index.entry((link.source, link.target)).or_insert(id);
            link_index.entry((link.target, link.source)).or_insert(id);
            link_names.push(format!(
                "{}->{}",
                names.node(link.source),
                names.node(link.target)
            ));
        }
        // Idempotency stores: one per shared name (in order of first use), one private store
        // per other idempotent consumer. Services without a store map to NO_STORE.
        let mut stores: Vec<String> = Vec::new();
        let mut store_of = vec![NO_STORE; spec.services.len()];
        for (i, service) in spec.services.iter().enumerate() {
            let Behaviour::Consumer(c) = &service.behaviour else {
                continue;
            };
            if !c.idempotent {
                continue;
            }
            let index = match &c.idempotency_store {
                Some(shared) => match stores.iter().position(|s| s == shared) {
                    Some(at) => at,
                    None => {
                        stores.push(shared.clone());
                        stores.len() - 1
                    }
                },
                None => {
                    stores.push(service.name.clone());
                    stores.len() - 1
                }
            };
            store_of[i] = index as u32;
        }
        let shared_store_of = spec
            .services
            .iter()
            .zip(&store_of)
            .map(|(s, &store)| match &s.behaviour {
                Behaviour::Consumer(c) if c.idempotency_store.is_some() && store != NO_STORE => {
                    Some(store)
                }
                _ => None,
            })
            .collect();
        let names = Names {
            links: link_names,
            subscriptions,
            stores,
            shared_store_of,
            ..names
        };
        let mut tables = ID_TABLE_BUDGET;
        Ok(Statics {
            spec: spec.clone(),
            links: spec.links.clone(),
            faults: spec.faults.clone(),
            limits: spec.limits,
            names,
            has_event_triggers: spec
                .faults
                .iter()
                .any(|f| matches!(f.at, Trigger::AfterEvent { .. })),
            store_of,
            link_index,
            producer_templates: spec
                .services
                .iter()
                .map(|s| match &s.behaviour {
                    Behaviour::Producer(p) => Some(Template::parse(&p.template, &mut tables)),
                    _ => None,
                })
                .collect(),
            step_templates: spec
                .services
                .iter()
                .map(|s| match &s.behaviour {
                    Behaviour::RpcServer(RpcServerSpec { chain, .. })
                    | Behaviour::Consumer(ConsumerSpec { chain, .. }) => chain
                        .iter()
                        .map(|step| match step {
                            Step::Send { template, .. } | Step::Publish { template, .. } => {
                                Some(Template::parse(template, &mut tables))
                            }
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .collect(),
        })
    }

    pub fn link_between(&self, a: Node, b: Node) -> Option<LinkId> {
        if self.link_index.is_empty() {
            return None;
        }
        self.link_index.get(&(a, b)).copied()
    }

    pub fn producer(&self, service: ServiceId) -> Option<&ProducerSpec> {
        match &self.spec.services.get(service.0 as usize)?.behaviour {
            Behaviour::Producer(p) => Some(p),
            _ => None,
        }
    }

    /// A producer's template, parsed.
    pub(crate) fn producer_template(&self, service: ServiceId) -> Option<&Template> {
        self.producer_templates.get(service.0 as usize)?.as_ref()
    }

    /// The parsed template of a chain step that sends or publishes.
    pub(crate) fn step_template(&self, service: ServiceId, step: u32) -> Option<&Template> {
        self.step_templates
            .get(service.0 as usize)?
            .get(step as usize)?
            .as_ref()
    }

    pub fn consumer(&self, service: ServiceId) -> Option<&ConsumerSpec> {
        match &self.spec.services.get(service.0 as usize)?.behaviour {
            Behaviour::Consumer(c) => Some(c),
            _ => None,
        }
    }

    pub fn server(&self, service: ServiceId) -> Option<&RpcServerSpec> {
        match &self.spec.services.get(service.0 as usize)?.behaviour {
            Behaviour::RpcServer(s) => Some(s),
            _ => None,
        }
    }

    /// The handler chain a consumer or RPC server runs per message or call (empty otherwise).
    pub fn chain(&self, service: ServiceId) -> &[Step] {
        match self
            .spec
            .services
            .get(service.0 as usize)
            .map(|s| &s.behaviour)
        {
            Some(Behaviour::RpcServer(RpcServerSpec { chain, .. }))
            | Some(Behaviour::Consumer(ConsumerSpec { chain, .. })) => chain,
            _ => &[],
        }
    }
}

/// Refuses a spec the engine could not run: sizes over the playground limits, ids out of range,
/// calls without an rpc link, SQS parameters out of range. The first problem wins (the scenario
/// crate reports every problem with positions; this is the engine's own guard).
fn validate(spec: &WorldSpec) -> Result<(), BuildError> {
    if spec.services.len() as u64 > MAX_SERVICES as u64
        || spec.links.len() as u64 > MAX_LINKS as u64
        || spec.faults.len() as u64 > MAX_FAULTS as u64
    {
        return Err(build_error(format!(
            "world too large: at most {MAX_SERVICES} services, {MAX_LINKS} links, {MAX_FAULTS} faults"
        )));
    }
    if spec.limits.until.0 > MAX_UNTIL_MS || spec.limits.max_events > MAX_EVENTS {
        return Err(build_error(format!(
            "limits too large: until <= {MAX_UNTIL_MS} ms, max_events <= {MAX_EVENTS}"
        )));
    }
    let check = Checker { spec };
    check.links()?;
    for (i, service) in spec.services.iter().enumerate() {
        check.service(ServiceId(i as u32), service)?;
    }
    check.faults()
}

/// The id checks `validate` runs against one spec.
struct Checker<'a> {
    spec: &'a WorldSpec,
}

impl Checker<'_> {
    fn service_ok(&self, s: ServiceId) -> bool {
        (s.0 as u64) < self.spec.services.len() as u64
    }
    fn queue_ok(&self, q: QueueId) -> bool {
        (q.0 as u64) < self.spec.queues.len() as u64
    }
    fn topic_ok(&self, t: TopicId) -> bool {
        (t.0 as u64) < self.spec.topics.len() as u64
    }
    fn node_ok(&self, n: Node) -> bool {
        match n {
            Node::Service(s) => self.service_ok(s),
            Node::Queue(q) => self.queue_ok(q),
            Node::Topic(t) => self.topic_ok(t),
        }
    }
    fn target_ok(&self, t: Target) -> bool {
        match t {
            Target::Queue(q) => self.queue_ok(q),
            Target::Topic(t) => self.topic_ok(t),
            Target::Service(s) => self.service_ok(s),
        }
    }
    fn has_rpc_link(&self, a: ServiceId, b: ServiceId) -> bool {
        self.spec.links.iter().any(|l| {
            l.kind == LinkKind::Rpc
                && ((l.source, l.target) == (Node::Service(a), Node::Service(b))
                    || (l.source, l.target) == (Node::Service(b), Node::Service(a)))
        })
    }
    fn service_name(&self, s: ServiceId) -> &str {
        &self.spec.services[s.0 as usize].name
    }

    fn links(&self) -> Result<(), BuildError> {
        for (i, link) in self.spec.links.iter().enumerate() {
            if !self.node_ok(link.source) || !self.node_ok(link.target) {
                return Err(build_error(format!("links[{i}]: unknown endpoint")));
            }
            if link.latency_ms_min > link.latency_ms_max {
                return Err(build_error(format!(
                    "links[{i}]: latency min {} > max {}",
                    link.latency_ms_min, link.latency_ms_max
                )));
            }
        }
        Ok(())
    }

    fn service(&self, me: ServiceId, service: &ServiceSpec) -> Result<(), BuildError> {
        let name = &service.name;
        match &service.behaviour {
            Behaviour::Idle => Ok(()),
            Behaviour::Producer(p) => self.producer(name, me, p),
            Behaviour::Consumer(c) => self.consumer(name, me, c),
            Behaviour::RpcServer(s) => self.chain(name, me, &s.chain),
            Behaviour::ScriptedClient(script) => self.script(name, script),
        }
    }

    fn producer(&self, name: &str, me: ServiceId, p: &ProducerSpec) -> Result<(), BuildError> {
        if !self.target_ok(p.target) {
            return Err(build_error(format!(
                "service {name}: producer target does not exist"
            )));
        }
        if let Target::Service(s) = p.target {
            if !self.has_rpc_link(me, s) {
                return Err(build_error(format!(
                    "service {name}: calls {} but no rpc link connects them",
                    self.service_name(s)
                )));
            }
        }
        if p.timeout_ms == 0 {
            return Err(build_error(format!(
                "service {name}: producer timeout_ms must be > 0"
            )));
        }
        Ok(())
    }

    fn consumer(&self, name: &str, me: ServiceId, c: &ConsumerSpec) -> Result<(), BuildError> {
        if !self.queue_ok(c.queue) {
            return Err(build_error(format!(
                "service {name}: consumer queue does not exist"
            )));
        }
        if !(1..=10).contains(&c.batch_size) {
            return Err(build_error(format!(
                "service {name}: batch_size must be 1..=10 (SQS MaxNumberOfMessages)"
            )));
        }
        if c.wait_ms > 20_000 {
            return Err(build_error(format!(
                "service {name}: wait must be at most 20 s (SQS WaitTimeSeconds)"
            )));
        }
        if let Some(store) = &c.idempotency_store {
            if store.is_empty() || store.len() > 80 {
                return Err(build_error(format!(
                    "service {name}: an idempotency store name has 1..=80 characters"
                )));
            }
        }
        self.chain(name, me, &c.chain)
    }

    fn chain(&self, name: &str, me: ServiceId, chain: &[Step]) -> Result<(), BuildError> {
        if chain.len() as u64 > MAX_CHAIN_STEPS as u64 {
            return Err(build_error(format!(
                "service {name}: at most {MAX_CHAIN_STEPS} chain steps"
            )));
        }
        for step in chain {
            match step {
                Step::Call { service, .. } => {
                    if !self.service_ok(*service) {
                        return Err(build_error(format!(
                            "service {name}: chain calls an unknown service"
                        )));
                    }
                    if !self.has_rpc_link(me, *service) {
                        return Err(build_error(format!(
                            "service {name}: chain calls {} but no rpc link connects them",
                            self.service_name(*service)
                        )));
                    }
                }
                Step::Send { queue, .. } if !self.queue_ok(*queue) => {
                    return Err(build_error(format!("service {name}: unknown queue")))
                }
                Step::Publish { topic, .. } if !self.topic_ok(*topic) => {
                    return Err(build_error(format!("service {name}: unknown topic")))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn script(&self, name: &str, script: &ScriptSpec) -> Result<(), BuildError> {
        if script.calls.len() as u64 > MAX_SCRIPT_CALLS as u64 {
            return Err(build_error(format!(
                "service {name}: at most {MAX_SCRIPT_CALLS} scripted calls"
            )));
        }
        for call in &script.calls {
            let ok = match &call.call {
                ApiCall::SendMessage { queue, .. }
                | ApiCall::SendMessageBatch { queue, .. }
                | ApiCall::ReceiveMessage { queue, .. }
                | ApiCall::DeleteMessage { queue, .. }
                | ApiCall::ChangeMessageVisibility { queue, .. }
                | ApiCall::PurgeQueue { queue } => self.queue_ok(*queue),
                ApiCall::Publish { topic, .. } => self.topic_ok(*topic),
            };
            if !ok {
                return Err(build_error(format!(
                    "service {name}: scripted {} names an unknown queue or topic",
                    call.call.action_name()
                )));
            }
        }
        if script.calls.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(build_error(format!(
                "service {name}: scripted calls must be in time order"
            )));
        }
        Ok(())
    }

    fn faults(&self) -> Result<(), BuildError> {
        let n_services = self.spec.services.len() as u64;
        let n_links = self.spec.links.len() as u64;
        for (i, fault) in self.spec.faults.iter().enumerate() {
            check_fault(&fault.action, n_services, n_links)
                .map_err(|m| build_error(format!("faults[{i}]: {m}")))?;
            if let Trigger::AfterEvent { kind, nth } = &fault.at {
                let s = match kind {
                    EventMatch::Received { service }
                    | EventMatch::Handled { service }
                    | EventMatch::RpcCall { service }
                    | EventMatch::Sent { service }
                    | EventMatch::ChainSent { service } => *service,
                };
                if !self.service_ok(s) || *nth == 0 {
                    return Err(build_error(format!(
                        "faults[{i}]: trigger names an unknown service or nth = 0"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Checks the ids a fault names (also used for interactive injections).
pub(crate) fn check_fault(
    action: &FaultAction,
    n_services: u64,
    n_links: u64,
) -> Result<(), String> {
    let service = |s: ServiceId| {
        if (s.0 as u64) < n_services {
            Ok(())
        } else {
            Err(format!("unknown service {}", s.0))
        }
    };
    let link = |l: LinkId| {
        if (l.0 as u64) < n_links {
            Ok(())
        } else {
            Err(format!("unknown link {}", l.0))
        }
    };
    match action {
        FaultAction::Crash { service: s }
        | FaultAction::Restart { service: s }
        | FaultAction::SkipDeletes { service: s, .. } => service(*s),
        FaultAction::Slow {
            service: s,
            factor_pct,
        } => {
            service(*s)?;
            if *factor_pct == 0 || *factor_pct > 100_000 {
                return Err("slow factor must be 1..=100000 percent".into());
            }
            Ok(())
        }
        FaultAction::Partition { link: l }
        | FaultAction::Heal { link: l }
        | FaultAction::Restore { link: l } => link(*l),
        FaultAction::Degrade { link: l, .. } | FaultAction::LoseResponses { link: l, .. } => {
            link(*l)
        }
        FaultAction::Pause { service: s, for_ms } => {
            service(*s)?;
            if *for_ms > MAX_UNTIL_MS {
                return Err(format!("pause must be at most {MAX_UNTIL_MS} ms"));
            }
            Ok(())
        }
    }
}

// ---- templates ------------------------------------------------------------------------------

/// One piece of a parsed template text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// `src[start..end]`, copied as written.
    Lit { start: u32, end: u32 },
    /// `{n}`
    N,
    /// `{n%K}` (K > 0)
    NMod(u64),
    /// `{origin}`
    Origin,
}

/// A template text parsed once when the world is built, so rendering a message is one
/// exact-size allocation and no scanning. Renders exactly what `fill_text` renders:
/// texts where the two passes of `fill_text` interact (a `{n...}` whose closing brace is that
/// of an `{origin}`, as in `{n%{origin}}`) keep no pieces and go through `fill_text` itself.
#[derive(Clone, Debug)]
pub(crate) struct Text {
    src: String,
    /// None: render through the generic `fill_text`.
    pieces: Option<Vec<Piece>>,
    /// Bytes of the literal pieces.
    literal_len: usize,
}

/// `{origin}` occurrences of `text` as `fill_text`'s first pass finds them: (start, end).
fn origin_spans(text: &str) -> Vec<(usize, usize)> {
    const PAT: &[u8] = b"{origin}";
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b'{') {
        let at = from + i;
        if bytes[at..].starts_with(PAT) {
            spans.push((at, at + PAT.len()));
            from = at + PAT.len();
        } else {
            from = at + 1;
        }
    }
    spans
}

impl Text {
    pub(crate) fn parse(src: &str) -> Text {
        let pieces = Self::pieces(src);
        let literal_len = pieces.as_ref().map_or(0, |p| {
            p.iter()
                .map(|piece| match *piece {
                    Piece::Lit { start, end } => (end - start) as usize,
                    _ => 0,
                })
                .sum()
        });
        Text {
            src: src.to_string(),
            pieces,
            literal_len,
        }
    }

    fn pieces(src: &str) -> Option<Vec<Piece>> {
        if src.len() > u32::MAX as usize {
            return None;
        }
        let bytes = src.as_bytes();
        // Placeholders by position: (start, end, piece). `{origin}` and `{n` never overlap
        // (the brace of `{origin}` is followed by `o`, its `n` by `}`), and replacing an
        // `{origin}` by digits creates or destroys no `{n`.
        let mut found: Vec<(usize, usize, Piece)> = origin_spans(src)
            .into_iter()
            .map(|(s, e)| (s, e, Piece::Origin))
            .collect();
        let origin_ends: Vec<usize> = found.iter().map(|f| f.1 - 1).collect();
        let mut from = 0;
        while let Some(i) = bytes[from..].iter().position(|&b| b == b'{') {
            let at = from + i;
            if bytes.get(at + 1) != Some(&b'n') {
                from = at + 1;
                continue;
            }
            let after = at + 2;
            let close = bytes[after..].iter().position(|&b| b == b'}');
            let Some(end) = close else {
                // No closing brace: "{n" stays as written (and so does the rest).
                from = after;
                continue;
            };
            if origin_ends.contains(&(after + end)) {
                // The closing brace belongs to an `{origin}`: fill_text sees other text there.
                return None;
            }
            let value = match end {
                0 => Some(Piece::N),
                _ => src[after..after + end]
                    .strip_prefix('%')
                    .and_then(|k| k.parse::<u64>().ok())
                    .filter(|&k| k > 0)
                    .map(Piece::NMod),
            };
            match value {
                Some(piece) => {
                    found.push((at, after + end + 1, piece));
                    from = after + end + 1;
                }
                None => from = after,
            }
        }
        found.sort_by_key(|f| f.0);
        let mut pieces = Vec::with_capacity(found.len() * 2 + 1);
        let mut at = 0;
        for (start, end, piece) in found {
            if start > at {
                pieces.push(Piece::Lit {
                    start: at as u32,
                    end: start as u32,
                });
            }
            pieces.push(piece);
            at = end;
        }
        if at < src.len() {
            pieces.push(Piece::Lit {
                start: at as u32,
                end: src.len() as u32,
            });
        }
        Some(pieces)
    }

    /// Whether the text renders the same for every counter and origin.
    pub(crate) fn is_constant(&self) -> bool {
        self.pieces
            .as_ref()
            .is_some_and(|p| p.iter().all(|piece| matches!(piece, Piece::Lit { .. })))
    }

    /// The text with `{origin}`, `{n}` and `{n%K}` filled in.
    pub(crate) fn render(&self, n: u64, origin: u64) -> String {
        let Some(pieces) = &self.pieces else {
            return fill_text(&self.src, n, origin);
        };
        let value = |piece: &Piece| match *piece {
            Piece::N => Some(n),
            Piece::NMod(k) => Some(n % k),
            Piece::Origin => Some(origin),
            Piece::Lit { .. } => None,
        };
        let len = self.literal_len
            + pieces
                .iter()
                .filter_map(value)
                .map(decimal_len)
                .sum::<usize>();
        let mut out = String::with_capacity(len);
        for piece in pieces {
            match *piece {
                Piece::Lit { start, end } => out.push_str(&self.src[start as usize..end as usize]),
                _ => push_decimal(&mut out, value(piece).unwrap_or(0)),
            }
        }
        out
    }

    /// Like `render`, straight into the shared string the broker keeps: short texts (at most
    /// `SMALL` bytes, every group and deduplication id) are rendered on the stack and copied
    /// once, with no intermediate `String`.
    pub(crate) fn render_shared(&self, n: u64, origin: u64) -> Arc<str> {
        const SMALL: usize = 128;
        let Some(pieces) = &self.pieces else {
            return Arc::from(self.render(n, origin));
        };
        let mut buf = [0u8; SMALL];
        let mut at = 0;
        for piece in pieces {
            let v = match *piece {
                Piece::Lit { start, end } => {
                    let lit = &self.src.as_bytes()[start as usize..end as usize];
                    let Some(dst) = buf.get_mut(at..at + lit.len()) else {
                        return Arc::from(self.render(n, origin));
                    };
                    dst.copy_from_slice(lit);
                    at += lit.len();
                    continue;
                }
                Piece::N => n,
                Piece::NMod(k) => n % k,
                Piece::Origin => origin,
            };
            let mut digits = [0u8; 20];
            let from = decimal_digits(v, &mut digits);
            let digits = &digits[from..];
            let Some(dst) = buf.get_mut(at..at + digits.len()) else {
                return Arc::from(self.render(n, origin));
            };
            dst.copy_from_slice(digits);
            at += digits.len();
        }
        // Literal pieces are whole runs of `src` between placeholders, so this is UTF-8.
        match std::str::from_utf8(&buf[..at]) {
            Ok(text) => Arc::from(text),
            Err(_) => Arc::from(self.render(n, origin)),
        }
    }

    /// `Some(k)` when the text renders the same for `n` and `n % k` and for every origin, with
    /// `k <= MAX_CYCLE`: its only placeholders are `{n%k}` (one k), or it has none (k = 1).
    fn cycle(&self) -> Option<u64> {
        let mut cycle = 1;
        for piece in self.pieces.as_ref()? {
            match *piece {
                Piece::Lit { .. } => {}
                Piece::NMod(k) if k <= MAX_CYCLE && (cycle == 1 || cycle == k) => cycle = k,
                _ => return None,
            }
        }
        Some(cycle)
    }
}

/// Longest cycle of an id text rendered ahead into a table (`IdText`).
const MAX_CYCLE: u64 = 1024;
/// Id table entries one world builds at most, over all its templates (bounded memory).
pub(crate) const ID_TABLE_BUDGET: u64 = 1 << 16;

/// A MessageGroupId or MessageDeduplicationId template, rendered into the `Arc<str>` the broker
/// keeps. A text that repeats with `n` (`g{n%64}`, or a constant) is rendered once per value
/// when the world is built; a message then shares its table entry by refcount.
#[derive(Clone, Debug)]
pub(crate) struct IdText {
    text: Text,
    /// By `n % len`: the rendered text (empty when the text does not cycle).
    table: Vec<Arc<str>>,
}

impl IdText {
    /// Builds the table when the text cycles and `budget` (table entries left for the
    /// world) covers it, and takes the entries from `budget`.
    pub(crate) fn parse(src: &str, budget: &mut u64) -> IdText {
        let text = Text::parse(src);
        let table = match text.cycle() {
            Some(k) if k <= *budget => {
                *budget -= k;
                (0..k).map(|i| Arc::from(text.render(i, 0))).collect()
            }
            _ => Vec::new(),
        };
        IdText { text, table }
    }

    /// The text for message `n` of origin `origin`: exactly what `Text::render` renders.
    pub(crate) fn render(&self, n: u64, origin: u64) -> Arc<str> {
        match self.table.len() as u64 {
            0 => self.text.render_shared(n, origin),
            k => Arc::clone(&self.table[(n % k) as usize]),
        }
    }
}

/// Number of decimal digits of `v`.
fn decimal_len(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Appends the decimal digits of `v`, two at a time (no temporary `String`, no UTF-8 check).
pub(crate) fn push_decimal(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    let i = decimal_digits(v, &mut buf);
    for &digit in &buf[i..] {
        out.push(char::from(digit));
    }
}

/// Writes the decimal digits of `v` at the end of `buf`, two at a time; returns where they start.
fn decimal_digits(mut v: u64, buf: &mut [u8; 20]) -> usize {
    /// "00", "01", ... "99".
    const PAIRS: [u8; 200] = {
        let mut pairs = [0u8; 200];
        let mut i = 0;
        while i < 100 {
            pairs[2 * i] = b'0' + (i / 10) as u8;
            pairs[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        pairs
    };
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = PAIRS[pair];
        buf[i + 1] = PAIRS[pair + 1];
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i] = PAIRS[pair];
        buf[i + 1] = PAIRS[pair + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    i
}

/// A message template parsed once: what a producer or chain step renders per message.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    body: Text,
    /// The attributes as the broker takes them, when every value is constant (then every
    /// message shares this one map); otherwise None and `attributes` are rendered.
    fixed_attributes: Option<Arc<MessageAttributes>>,
    attributes: Vec<(String, Text)>,
    group_id: Option<IdText>,
    dedup_id: Option<IdText>,
}

/// A rendered message, ready for the broker's send and publish requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Message {
    pub body: String,
    pub attributes: Arc<MessageAttributes>,
    pub group_id: Option<Arc<str>>,
    pub dedup_id: Option<Arc<str>>,
}

impl Template {
    /// `tables`: how many more id table entries the world may build (see `IdText::parse`).
    pub(crate) fn parse(template: &MessageTemplate, tables: &mut u64) -> Template {
        let attributes: Vec<(String, Text)> = template
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), Text::parse(v)))
            .collect();
        let fixed_attributes = attributes
            .iter()
            .all(|(_, v)| v.is_constant())
            .then(|| Arc::new(attributes_map(&attributes, 0, 0)));
        Template {
            body: Text::parse(&template.body),
            fixed_attributes,
            attributes,
            group_id: template
                .group_id
                .as_deref()
                .map(|t| IdText::parse(t, tables)),
            dedup_id: template
                .dedup_id
                .as_deref()
                .map(|t| IdText::parse(t, tables)),
        }
    }

    /// Fill the template: `{origin}` (the message's origin, unique per original message, kept
    /// by chain steps), then `{n}` / `{n%K}`.
    pub(crate) fn render(&self, n: u64, origin: u64) -> Message {
        Message {
            body: self.body.render(n, origin),
            attributes: match &self.fixed_attributes {
                Some(map) => Arc::clone(map),
                None => Arc::new(attributes_map(&self.attributes, n, origin)),
            },
            group_id: self.group_id.as_ref().map(|t| t.render(n, origin)),
            dedup_id: self.dedup_id.as_ref().map(|t| t.render(n, origin)),
        }
    }
}

/// String message attributes as the broker takes them. Inserted one by one: a repeated name
/// keeps its last value.
fn attributes_map(attributes: &[(String, Text)], n: u64, origin: u64) -> MessageAttributes {
    let mut map = MessageAttributes::new();
    for (k, v) in attributes {
        map.insert(k.clone(), AttributeValue::string(v.render(n, origin)));
    }
    map
}

/// Byte position of the next `{n` in `text` (a plain scan: the std substring searcher's setup
/// cost dominated for template-sized strings).
fn find_brace_n(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b'{') {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b'n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Replace `{n}` by the counter and `{n%K}` by the counter modulo K (to cycle through K FIFO
/// groups, say). Anything else is copied as written.
fn substitute(text: &str, n: u64) -> String {
    if find_brace_n(text).is_none() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(start) = find_brace_n(rest) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let close = after.bytes().position(|b| b == b'}');
        let value = match close {
            Some(0) => Some(n),
            Some(end) => after[..end]
                .strip_prefix('%')
                .and_then(|k| k.parse::<u64>().ok())
                .filter(|&k| k > 0)
                .map(|k| n % k),
            None => None,
        };
        match (value, close) {
            (Some(v), Some(end)) => {
                push_decimal(&mut out, v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("{n");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with every `{origin}` replaced by `origin` (None when there is none).
fn replace_origin(text: &str, origin: u64) -> Option<String> {
    const PAT: &str = "{origin}";
    let find = |s: &str| {
        let bytes = s.as_bytes();
        let mut from = 0;
        while let Some(i) = bytes[from..].iter().position(|&b| b == b'{') {
            if bytes[from + i..].starts_with(PAT.as_bytes()) {
                return Some(from + i);
            }
            from += i + 1;
        }
        None
    };
    let first = find(text)?;
    let mut out = String::with_capacity(text.len() + 12);
    let mut rest = text;
    let mut at = Some(first);
    while let Some(i) = at {
        out.push_str(&rest[..i]);
        push_decimal(&mut out, origin);
        rest = &rest[i + PAT.len()..];
        at = find(rest);
    }
    out.push_str(rest);
    Some(out)
}

/// Fill one template text: `{origin}` first, then `{n}` / `{n%K}`.
pub(crate) fn fill_text(text: &str, n: u64, origin: u64) -> String {
    // Most template texts (attribute values, fixed bodies) have no placeholder at all.
    if !text.as_bytes().contains(&b'{') {
        return text.to_string();
    }
    match replace_origin(text, origin) {
        Some(replaced) => {
            if find_brace_n(&replaced).is_none() {
                replaced
            } else {
                substitute(&replaced, n)
            }
        }
        None => substitute(text, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::broker::Rng;
    use crate::spec::MessageTemplate;

    #[test]
    fn templates_substitute_the_counter_and_its_modulo() {
        assert_eq!(
            substitute("order-{n} g{n%4} {x} {n%0} {n", 7),
            "order-7 g3 {x} {n%0} {n"
        );
        assert_eq!(substitute("plain", 7), "plain");
        let t = MessageTemplate {
            body: "o{origin}-{n}".into(),
            dedup_id: Some("{origin}".into()),
            ..Default::default()
        };
        assert_eq!(
            substitute("{n}{n}{n%10}", 1234567890123),
            "123456789012312345678901233"
        );
        assert_eq!(fill_text("{origin}{origin}x{n%{origin}}", 5, 0), "00x{n%0}");
        assert_eq!(fill_text("{n%{origin}}", 10, 4), "2");
        let filled = Template::parse(&t, &mut 0).render(3, 42);
        assert_eq!(
            (filled.body.as_str(), filled.dedup_id.as_deref()),
            ("o42-3", Some("42"))
        );
    }

    /// Parsed templates render exactly what the generic two-pass `fill_text` renders, on
    /// random texts made of placeholder fragments.
    #[test]
    fn parsed_texts_render_like_fill_text() {
        const PARTS: [&str; 16] = [
            "{", "}", "n", "%", "{n", "{n}", "{origin}", "{orig", "in}", "{n%", "7", "0", "+3",
            "x", "{n%64}", "é",
        ];
        let mut rng = Rng::new(99);
        for _ in 0..20_000 {
            let len = rng.below(8) as usize;
            let text: String = (0..len)
                .map(|_| PARTS[rng.below(PARTS.len() as u64) as usize])
                .collect();
            let parsed = Text::parse(&text);
            // Group and deduplication ids: a table for cycling texts, the stack otherwise.
            let mut budget = u64::MAX;
            let id = IdText::parse(&text, &mut budget);
            let untabled = IdText::parse(&text, &mut 0);
            for (n, origin) in [(0, 0), (7, 3), (1234567890123, 42), (u64::MAX, 5)] {
                let expected = fill_text(&text, n, origin);
                assert_eq!(
                    parsed.render(n, origin),
                    expected,
                    "{text:?} n={n} origin={origin}"
                );
                assert_eq!(
                    &*id.render(n, origin),
                    expected,
                    "id {text:?} n={n} origin={origin}"
                );
                assert_eq!(&*untabled.render(n, origin), expected, "{text:?}");
            }
        }
        // Ids longer than the stack buffer, and cycles too long for a table.
        let long = "é".repeat(70);
        for text in [
            format!("{long}{{n}}"),
            format!("{{origin}}{long}"),
            format!("{long}{{n%3}}"),
            "{n%5000}".to_string(),
            format!("{long}{{n%5000}}"),
        ] {
            let mut budget = u64::MAX;
            let id = IdText::parse(&text, &mut budget);
            for (n, origin) in [(0, 0), (7, 3), (1234567890123, 42), (u64::MAX, 5)] {
                assert_eq!(
                    &*id.render(n, origin),
                    fill_text(&text, n, origin),
                    "{text:?}"
                );
            }
        }
    }
}
