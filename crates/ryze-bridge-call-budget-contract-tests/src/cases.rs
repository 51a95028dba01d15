//! The contract cases. Each takes a factory of two nodes sharing a fresh budget (or
//! `None`, the case is skipped) and panics when the budget breaks the contract of
//! `ryze_ports::ChatwootCallBudget`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed call fails the case"
)]

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ryze_ports::ChatwootCallBudget;
use tokio::task::JoinHandle;

/// Two budgets sharing one count.
pub type TwoNodes = [Arc<dyn ChatwootCallBudget>; 2];

const HOST: &str = "http://chatwoot.test:3000";
const OTHER_HOST: &str = "http://other-chatwoot.test:3000";

/// Longest a case waits for calls the budget should let through eventually.
const DEADLINE: Duration = Duration::from_secs(30);

fn calls(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Sleeps until `offset` into the next window (windows start at multiples of `window`
/// since the epoch, as Chatwoot's do), so a case knows where the edges are.
async fn into_next_window(window: Duration, offset: Duration) {
    let window_ns = window.as_nanos();
    let into = since_epoch().as_nanos() % window_ns;
    let left = u64::try_from(window_ns - into).unwrap();
    tokio::time::sleep(Duration::from_nanos(left) + offset).await;
}

/// Starts `count` calls to `host`, alternating between `nodes`; the number of calls
/// that went out so far, and the tasks.
fn start_calls(
    nodes: &[Arc<dyn ChatwootCallBudget>],
    host: &'static str,
    count: usize,
) -> (Arc<AtomicUsize>, Vec<JoinHandle<()>>) {
    let passed = Arc::new(AtomicUsize::new(0));
    let tasks = (0..count)
        .map(|call| {
            let node = Arc::clone(&nodes[call % nodes.len()]);
            let passed = Arc::clone(&passed);
            tokio::spawn(async move {
                node.take(host).await;
                passed.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    (passed, tasks)
}

async fn all_done(tasks: Vec<JoinHandle<()>>) {
    tokio::time::timeout(DEADLINE, futures::future::join_all(tasks))
        .await
        .expect("the budget let the calls through within the deadline")
        .into_iter()
        .for_each(|joined| joined.unwrap());
}

/// 3 × `limit` calls started just after a window opens, through `nodes`: in the middle
/// of the first window at most `limit` went out (and at least one), in the middle of
/// the second at most 2 × `limit`, and all go out in the end.
async fn paced_by_window(nodes: &[Arc<dyn ChatwootCallBudget>], limit: usize, window: Duration) {
    into_next_window(window, Duration::from_millis(20)).await;
    let (passed, tasks) = start_calls(nodes, HOST, limit * 3);
    tokio::time::sleep(window / 2).await;
    let in_first = passed.load(Ordering::SeqCst);
    assert!(
        (1..=limit).contains(&in_first),
        "{in_first} calls went out in the first window (limit {limit})"
    );
    tokio::time::sleep(window).await;
    let by_second = passed.load(Ordering::SeqCst);
    assert!(
        by_second <= limit * 2,
        "{by_second} calls went out in the first two windows (limit {limit} each)"
    );
    assert!(
        by_second > in_first,
        "no call went out in the second window"
    );
    all_done(tasks).await;
    assert_eq!(passed.load(Ordering::SeqCst), limit * 3);
}

pub async fn no_window_lets_more_calls_through_than_the_limit<F, Fut>(two_nodes: F)
where
    F: FnOnce(NonZeroU32, Duration) -> Fut,
    Fut: Future<Output = Option<TwoNodes>>,
{
    let window = Duration::from_secs(1);
    let Some([node, _]) = two_nodes(calls(4), window).await else {
        return;
    };
    paced_by_window(&[node], 4, window).await;
}

pub async fn two_nodes_together_stay_under_one_limit<F, Fut>(two_nodes: F)
where
    F: FnOnce(NonZeroU32, Duration) -> Fut,
    Fut: Future<Output = Option<TwoNodes>>,
{
    let window = Duration::from_secs(1);
    let Some(nodes) = two_nodes(calls(4), window).await else {
        return;
    };
    paced_by_window(&nodes, 4, window).await;
}

pub async fn a_refusal_seen_by_one_node_holds_the_other_back_until_the_next_window<F, Fut>(
    two_nodes: F,
) where
    F: FnOnce(NonZeroU32, Duration) -> Fut,
    Fut: Future<Output = Option<TwoNodes>>,
{
    let window = Duration::from_secs(2);
    let Some([refused, other]) = two_nodes(calls(100), window).await else {
        return;
    };
    into_next_window(window, Duration::from_millis(20)).await;
    let window_ns = window.as_nanos();
    let next_window = Duration::from_nanos(
        u64::try_from((since_epoch().as_nanos() / window_ns + 1) * window_ns).unwrap(),
    );
    refused.exceeded(HOST).await;
    let (passed, tasks) = start_calls(&[other], HOST, 1);
    tokio::time::sleep(window / 2).await;
    assert_eq!(
        passed.load(Ordering::SeqCst),
        0,
        "a call went out in the window Chatwoot refused"
    );
    all_done(tasks).await;
    // The clocks of the test and of the budget (Redis's) may differ a little.
    let tolerance = Duration::from_millis(50);
    let went_out = since_epoch();
    assert!(
        went_out + tolerance >= next_window,
        "the call went out {:?} before the next window",
        next_window - went_out
    );
}

pub async fn hosts_have_separate_budgets<F, Fut>(two_nodes: F)
where
    F: FnOnce(NonZeroU32, Duration) -> Fut,
    Fut: Future<Output = Option<TwoNodes>>,
{
    let window = Duration::from_secs(2);
    let Some([first, second]) = two_nodes(calls(100), window).await else {
        return;
    };
    into_next_window(window, Duration::from_millis(20)).await;
    first.exceeded(HOST).await;
    let (refused_passed, refused_calls) = start_calls(&[Arc::clone(&second)], HOST, 1);
    let (other_passed, other_calls) = start_calls(&[first, second], OTHER_HOST, 4);
    all_done(other_calls).await;
    assert_eq!(other_passed.load(Ordering::SeqCst), 4);
    assert_eq!(
        refused_passed.load(Ordering::SeqCst),
        0,
        "the refused host's call went out before its next window"
    );
    all_done(refused_calls).await;
}
