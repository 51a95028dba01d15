//! One behavioural test suite for every implementation of the `ChatwootCallBudget` port
//! (`ryze_ports::ChatwootCallBudget`), so the in-process budget and the Redis one keep
//! the same promises: no more calls in one of Chatwoot's windows than the limit, a
//! refusal closes the host until the next window, hosts are counted apart.
//!
//! A budget crate runs the suite from one of its integration tests:
//!
//! ```ignore
//! /// Two "nodes" sharing one budget of `calls` per `window`, or `None` to skip.
//! async fn two_nodes(calls: NonZeroU32, window: Duration) -> Option<[Arc<dyn ChatwootCallBudget>; 2]> {
//!     /* two budgets sharing one count */
//! }
//!
//! ryze_bridge_call_budget_contract_tests::call_budget_contract_tests!(two_nodes);
//! ```
//!
//! The factory gives two budgets that share one count: two instances on one Redis, or
//! the same in-process instance twice (one process is one node). The macro expands to
//! one `#[tokio::test(flavor = "multi_thread")]` per case of [`cases`], named after it.
//!
//! The cases run on the real clock with windows of one or two seconds, aligned as
//! Chatwoot's are (multiples of the window since the epoch); they look at the calls
//! that went out at checkpoints in the middle of a window, far from its edges.

pub mod cases;

/// Expands to one test per contract case, each running against the two nodes made by
/// `$two_nodes` (an async function of `(NonZeroU32, Duration)` yielding
/// `Option<[Arc<dyn ChatwootCallBudget>; 2]>`).
///
/// The test functions use `::tokio`, so the calling crate needs `tokio` (with the
/// `macros` and `rt-multi-thread` features) among its dev-dependencies.
#[macro_export]
macro_rules! call_budget_contract_tests {
    ($two_nodes:path) => {
        $crate::__call_budget_contract_cases!(
            $two_nodes;
            no_window_lets_more_calls_through_than_the_limit,
            two_nodes_together_stay_under_one_limit,
            a_refusal_seen_by_one_node_holds_the_other_back_until_the_next_window,
            hosts_have_separate_budgets,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __call_budget_contract_cases {
    ($two_nodes:path; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $case() {
                $crate::cases::$case(|calls, window| $two_nodes(calls, window)).await;
            }
        )+
    };
}
