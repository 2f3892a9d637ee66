//! The shared bus conformance suite against a real Kafka-protocol broker (`ARGUS_TEST_KAFKA_BROKERS`, started
//! by `data-layer/local/up.sh`).
//!
//! Every check gets a fresh [`KafkaBus`] with a unique client id and a unique topic prefix, so its topics
//! start empty: the checks count messages and lag, which a topic shared with other runs would disturb.

#![cfg(feature = "kafka")]

use argus_bus::conformance::BusUnderTest;
use argus_bus::kafka::{KafkaBus, KafkaBusConfig};
use std::sync::Arc;

/// The broker list, or `None` (after saying so) when the servers are not configured; panics instead when
/// `ARGUS_REQUIRE_SERVICES=1`.
fn kafka_brokers() -> Option<String> {
    if let Ok(brokers) = std::env::var("ARGUS_TEST_KAFKA_BROKERS") {
        return Some(brokers);
    }
    if std::env::var("ARGUS_REQUIRE_SERVICES").is_ok_and(|value| value == "1") {
        panic!(
            "ARGUS_TEST_KAFKA_BROKERS is not set: run data-layer/local/up.sh and source \
             /tmp/argus-services/env.sh"
        );
    }
    eprintln!(
        "skipping: ARGUS_TEST_KAFKA_BROKERS is not set (run data-layer/local/up.sh to test against kafka)"
    );
    None
}

/// A fresh Kafka bus, or `None` when there is no broker to test against.
async fn kafka_bus() -> Option<BusUnderTest> {
    let brokers = kafka_brokers()?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut config = KafkaBusConfig::new(brokers);
    config.client_id = format!("argus-conformance-{run}");
    config.topic_prefix = format!("conformance-{run}.");
    config.session_timeout_ms = 3_000;
    config.max_attempts = 3;
    let max_attempts = config.max_attempts;
    let bus = match KafkaBus::connect(&config).await {
        Ok(bus) => bus,
        Err(error) => panic!("connecting to kafka at {} failed: {error}", config.brokers),
    };
    Some(BusUnderTest { bus: Arc::new(bus), max_attempts })
}

mod conformance {
    // Without a broker the factory expression returns from the generated test before the check starts
    // (after `kafka_bus` printed `skipping: …`).
    argus_bus::bus_conformance_tests!(match super::kafka_bus().await {
        Some(under_test) => move || std::future::ready(under_test),
        None => return,
    });
}
