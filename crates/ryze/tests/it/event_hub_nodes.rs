//! Two API nodes (two servers in this process) sharing one PostgreSQL database and one
//! event hub on NATS JetStream (`EVENT_HUB_URL`): an event ingested on either node is
//! streamed at once by the node that serves the bridge's stream, whatever its size.

use futures::SinkExt;
use ryze_event_hub_nats::test_support::{test_hub, test_nats_url};
use ryze_test_support::engine_events::ack_frame;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::event_hub::{
    connect_to, image_event, instance_with_integration, next_frame, post_event_to, ENGINE_TOKEN,
};
use crate::rate_limit_nodes::another_node;
use crate::support::{Backend, Options, TestApi};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_ingested_on_one_node_is_streamed_at_once_by_another() {
    // The hub's prefix of this test; its streams are deleted when the guard drops.
    let hub_guard = test_hub()
        .await
        .unwrap_or_else(|unavailable| panic!("{unavailable}"));
    let api = TestApi::start_with(
        Options::new(Backend::Postgres)
            .env("ENGINE_TOKEN", ENGINE_TOKEN)
            .env("EVENT_HUB_URL", test_nats_url())
            .env("EVENT_HUB_NATS_PREFIX", hub_guard.prefix()),
    )
    .await;
    let node_a = api.base_url.clone();
    let node_b = another_node(&api).await;
    let instance_id = instance_with_integration(&api, "suporte").await;

    let mut socket = connect_to(&node_b, &instance_id).await;
    let hello = next_frame(&mut socket).await;
    assert_eq!(
        (&hello["type"], &hello["lastAppended"]),
        (&json!("hello"), &json!(0))
    );

    // Ingested on A, pushed by B: B reads its hub again only every 30 s without an
    // announcement, and `next_frame` waits 10 s.
    assert_eq!(
        post_event_to(&api, &node_a, &image_event(&instance_id, "3EB0N1")).await,
        (
            202,
            json!({"stored": true, "sequence": 1, "duplicate": false})
        )
    );
    let first = next_frame(&mut socket).await;
    assert_eq!(
        (&first["sequence"], &first["event"]["data"]["id"]),
        (&json!(1), &json!("3EB0N1"))
    );
    socket.send(Message::text(ack_frame(1))).await.unwrap();

    // The same event again, through the other node: one hub, one de-duplication.
    assert_eq!(
        post_event_to(&api, &node_b, &image_event(&instance_id, "3EB0N1")).await,
        (
            202,
            json!({"stored": false, "sequence": null, "duplicate": true})
        )
    );

    // Larger than a NATS message (1 MiB by default): stored whole, streamed whole.
    let mut large = image_event(&instance_id, "3EB0N2");
    let media = "QUJD".repeat(800_000);
    large["data"]["message"]["media"]["base64"] = json!(media);
    assert_eq!(
        post_event_to(&api, &node_a, &large).await,
        (
            202,
            json!({"stored": true, "sequence": 2, "duplicate": false})
        )
    );
    let second = next_frame(&mut socket).await;
    assert_eq!(second["sequence"], 2);
    assert_eq!(
        second["event"]["data"]["message"]["media"]["base64"],
        json!(media)
    );
    drop(socket);
    drop(hub_guard);
}
