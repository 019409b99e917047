//! Rough broker throughput on the virtual clock (a tool, not a test): a topic fanning out to two
//! standard queues and one FIFO queue with 16 groups, consumers receiving 10 and deleting.
//! Run: `cargo run -p switchboard-broker --profile bench --example throughput`.

use std::time::Instant;

use switchboard_broker::*;

fn main() {
    let mut broker = Broker::new();
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    let topic = broker
        .create_topic(TopicConfig::new("orders.fifo"))
        .unwrap();
    let mut queues = Vec::new();
    for name in ["a.fifo", "b.fifo", "c.fifo"] {
        let q = broker.create_queue(QueueConfig::new(name)).unwrap();
        broker
            .subscribe(topic, SubscriptionConfig::queue(q).raw())
            .unwrap();
        queues.push(q);
    }
    let plain = broker.create_queue(QueueConfig::new("plain")).unwrap();
    let rounds: u64 = 200_000;
    let started = Instant::now();
    let mut calls: u64 = 0;
    let mut events: u64 = 0;
    for i in 0..rounds {
        let now = Millis(i);
        let req = PublishRequest::new("order")
            .group(format!("g{}", i % 16))
            .dedup(format!("{i}"));
        broker.publish(now, topic, req, &mut rng, &mut out).unwrap();
        broker
            .send_message(now, plain, SendRequest::new("job"), &mut rng, &mut out)
            .unwrap();
        calls += 2;
        if i % 4 == 3 {
            for &q in queues.iter().chain([plain].iter()) {
                let got = broker
                    .receive_message(now, q, ReceiveRequest::max(10), &mut rng, &mut out)
                    .unwrap()
                    .into_messages();
                calls += 1;
                for m in got {
                    broker
                        .delete_message(now, q, m.receipt, &mut rng, &mut out)
                        .unwrap();
                    calls += 1;
                }
            }
        }
        events += out.len() as u64;
        out.clear();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{calls} API calls, {events} broker events in {secs:.2}s: {:.0} calls/s, {:.0} events/s",
        calls as f64 / secs,
        events as f64 / secs
    );
    for q in queues.iter().chain([plain].iter()) {
        let m = broker.queue_metrics(*q);
        println!(
            "{}: accepted {} deleted {} stored {}",
            broker.queue_name(*q),
            m.accepted,
            m.deleted,
            m.depth()
        );
    }
}
