//! Two API nodes (two servers in this process) sharing one PostgreSQL database and one
//! Redis (`REDIS_URL`): a token's requests count against one limit whichever node
//! serves them.

use std::net::TcpListener;

use reqwest::Method;
use ryze_api_rate_limit_redis::test_support::redis_for_tests;

use crate::support::{assert_error, Backend, Options, TestApi};

/// Starts another API server on `api`'s settings (same database, same Redis); its URL.
pub(crate) async fn another_node(api: &TestApi) -> String {
    let control_plane = ryze::wiring::control_plane(&api.settings)
        .await
        .expect("control plane");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let server = ryze::commands::http_server(
        ryze::wiring::api_state(&api.settings, control_plane).expect("api state"),
        listener,
        api.settings.http.workers,
    )
    .expect("server");
    tokio::spawn(server);
    base_url
}

#[tokio::test(flavor = "multi_thread")]
async fn the_101st_request_of_a_token_spread_over_two_nodes_is_refused() {
    let redis_url = match redis_for_tests().await {
        Ok(url) => url,
        Err(unavailable) => {
            eprintln!("skipped the two-node rate limit test: {unavailable}");
            return;
        }
    };
    let api =
        TestApi::start_with(Options::new(Backend::Postgres).env("REDIS_URL", redis_url)).await;
    let nodes = [api.base_url.clone(), another_node(&api).await];
    let request = |number: usize| {
        api.client
            .request(
                Method::GET,
                format!("{}/api/instance/list", nodes[number % 2]),
            )
            .header("token", &api.account_token)
            .send()
    };
    for number in 1..=100 {
        let response = request(number).await.expect("request sent");
        assert_eq!(response.status(), 200, "request {number}");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            (100 - number).to_string().as_str(),
            "request {number}"
        );
    }
    for number in [101, 102] {
        let response = request(number).await.expect("request sent");
        assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
        assert_error(response, 429, "Rate limit exceeded. Try again later.").await;
    }
}
