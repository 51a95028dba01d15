//! Mocked stores (`ryze_ports::MockStore`) holding sample instances.

use ryze_domain::Instance;
use ryze_ports::MockStore;

use crate::control_plane::{ChatwootIntegrationBuilder, InstanceBuilder};

/// The instance `ins_<name>` named `name` of `account`.
fn instance(account: &str, name: &str) -> Instance {
    InstanceBuilder::new(account, name).build()
}

/// A store where account `acc_1` has the instance `suporte` and account `acc_2` has
/// `vendas`. Lookups by name are per account; by id, global. Add expectations for
/// anything else a test needs.
pub fn store_with_suporte_and_vendas() -> MockStore {
    let mut store = MockStore::new();
    store.expect_find_instance().returning(|account, name| {
        Ok((account.as_str() == "acc_1" && name.as_str() == "suporte")
            .then(|| instance("acc_1", "suporte")))
    });
    store.expect_find_instance_by_id().returning(|id| {
        Ok(match id.as_str() {
            "ins_suporte" => Some(instance("acc_1", "suporte")),
            "ins_vendas" => Some(instance("acc_2", "vendas")),
            _ => None,
        })
    });
    store
}

/// Makes `store` hold a Chatwoot integration (the default one of
/// [`ChatwootIntegrationBuilder`]) for the instances whose ids are in `integrated`, and
/// none for any other.
pub fn with_integrations_on(store: &mut MockStore, integrated: &'static [&'static str]) {
    store.expect_find_integration().returning(move |id| {
        Ok(integrated
            .contains(&id.as_str())
            .then(|| ChatwootIntegrationBuilder::new(id).build()))
    });
}
