//! The shared call budget contract, run against the in-process budget: one process is
//! one node, so both "nodes" are the same budget.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use ryze_bridge_chatwoot_client::{CallBudgetSettings, InProcessCallBudget};
use ryze_ports::ChatwootCallBudget;

async fn two_nodes(
    calls_per_window: NonZeroU32,
    window: Duration,
) -> Option<[Arc<dyn ChatwootCallBudget>; 2]> {
    let budget: Arc<dyn ChatwootCallBudget> =
        Arc::new(InProcessCallBudget::new(CallBudgetSettings {
            calls_per_window,
            window,
        }));
    Some([Arc::clone(&budget), budget])
}

ryze_bridge_call_budget_contract_tests::call_budget_contract_tests!(two_nodes);
