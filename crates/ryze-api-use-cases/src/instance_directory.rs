//! [`StoreInstanceDirectory`]: the [`InstanceDirectory`] the API runs with, finding
//! instances by id through the control plane's own store
//! (`InstanceStore::find_instance_by_id`), so it knows every instance, with or without an
//! integration, whatever database the bridge uses.

use std::sync::Arc;

use async_trait::async_trait;
use ryze_domain::{InstanceId, InstanceName};
use ryze_ports::{InstanceStore, StoreError};

use crate::InstanceDirectory;

/// Instance names from the control plane's instance store.
///
/// Generic over the store so an `Arc<dyn Store>` (the whole control-plane store) can be
/// passed as is.
pub struct StoreInstanceDirectory<S: InstanceStore + ?Sized> {
    store: Arc<S>,
}

impl<S: InstanceStore + ?Sized> StoreInstanceDirectory<S> {
    pub fn new(store: Arc<S>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl<S: InstanceStore + ?Sized> InstanceDirectory for StoreInstanceDirectory<S> {
    async fn find_instance_name(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<InstanceName>, StoreError> {
        Ok(self
            .store
            .find_instance_by_id(instance_id)
            .await?
            .map(|instance| instance.name))
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use mockall::predicate::eq;
    use ryze_domain::{AccountId, Instance};
    use ryze_ports::{MockStore, Store};

    use super::*;

    fn instance(id: &str, name: &str) -> Instance {
        Instance {
            id: InstanceId::new(id),
            account_id: AccountId::new("acc_1"),
            name: InstanceName::parse(name).unwrap(),
            created_at: DateTime::from_timestamp(1_718_000_000, 0).unwrap(),
        }
    }

    fn directory(store: MockStore) -> StoreInstanceDirectory<dyn Store> {
        let store: Arc<dyn Store> = Arc::new(store);
        StoreInstanceDirectory::new(store)
    }

    #[tokio::test]
    async fn names_come_from_the_instance_found_by_its_id() {
        let mut store = MockStore::new();
        store
            .expect_find_instance_by_id()
            .with(eq(InstanceId::new("ins_1")))
            .returning(|_| Ok(Some(instance("ins_1", "suporte"))));
        store
            .expect_find_instance_by_id()
            .with(eq(InstanceId::new("ins_2")))
            .returning(|_| Ok(None));
        let directory = directory(store);

        assert_eq!(
            directory
                .find_instance_name(&InstanceId::new("ins_1"))
                .await
                .unwrap()
                .map(|name| name.as_str().to_owned()),
            Some("suporte".to_owned())
        );
        assert_eq!(
            directory
                .find_instance_name(&InstanceId::new("ins_2"))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_store_failure_is_passed_on() {
        let mut store = MockStore::new();
        store
            .expect_find_instance_by_id()
            .returning(|_| Err(StoreError::Unavailable("pool timed out".to_owned())));

        assert_eq!(
            directory(store)
                .find_instance_name(&InstanceId::new("ins_1"))
                .await,
            Err(StoreError::Unavailable("pool timed out".to_owned()))
        );
    }
}
