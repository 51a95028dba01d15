//! An interim [`InstanceDirectory`]: instance names read from the bridge's integration
//! table, which records each integration's instance id and name.
//!
//! The store ports cannot find an instance by its id alone yet (`InstanceStore` looks
//! instances up by account and name). Until `InstanceStore::find_instance_by_id` exists,
//! this lookup serves the event hub where the API and the bridge share one database
//! (`ryze serve`, or `ryze api` and `ryze bridge` on the same `DATABASE_URL`). Its limit:
//! an instance without an integration on the bridge is unknown to it, so the engine's
//! events for such an instance are answered 404 `instance not found` rather than 202
//! "not kept" (nothing would have been kept either way).

use std::sync::Arc;

use async_trait::async_trait;
use ryze_domain::{InstanceId, InstanceName};
use ryze_ports::{BridgeIntegrationStore, StoreError};

use crate::InstanceDirectory;

/// Instance names from the bridge's integrations.
pub struct BridgeTableDirectory {
    bridge: Arc<dyn BridgeIntegrationStore>,
}

impl BridgeTableDirectory {
    pub fn new(bridge: Arc<dyn BridgeIntegrationStore>) -> Self {
        Self { bridge }
    }
}

#[async_trait]
impl InstanceDirectory for BridgeTableDirectory {
    async fn find_instance_name(
        &self,
        instance_id: &InstanceId,
    ) -> Result<Option<InstanceName>, StoreError> {
        Ok(self
            .bridge
            .find_bridge_integration_for_instance(instance_id)
            .await?
            .map(|integration| integration.instance_name))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use mockall::predicate::eq;
    use ryze_domain::{
        BridgeIntegration, BridgeIntegrationId, ChatwootAccountId, ChatwootBaseUrl,
        ChatwootSettings, InboxName, IntegrationStatus, KeyId, RelayFlags, SealedSecret,
    };
    use ryze_ports::MockBridgeIntegrationStore;

    use super::*;

    fn sealed() -> SealedSecret {
        SealedSecret {
            key_id: KeyId::new("k1"),
            nonce: vec![1; 12],
            ciphertext: vec![9; 30],
        }
    }

    fn bridge_integration() -> BridgeIntegration {
        let at: DateTime<Utc> = DateTime::from_timestamp(1_718_000_000, 0).unwrap_or_default();
        BridgeIntegration {
            id: BridgeIntegrationId::new("int_1"),
            instance_id: InstanceId::new("ins_1"),
            instance_name: InstanceName::parse("suporte").unwrap(),
            settings: ChatwootSettings {
                base_url: ChatwootBaseUrl::parse("https://chatwoot.example.com").unwrap(),
                account_id: ChatwootAccountId::new(5).unwrap(),
                inbox_name: InboxName::parse(None).unwrap(),
                flags: RelayFlags::default(),
            },
            api_token: sealed(),
            webhook_secret: sealed(),
            inbox_id: Some(4),
            status: IntegrationStatus::Active,
            last_error: String::new(),
            created_at: at,
            updated_at: at,
        }
    }

    #[tokio::test]
    async fn names_come_from_the_bridge_integration_of_the_instance() {
        let mut bridge = MockBridgeIntegrationStore::new();
        bridge
            .expect_find_bridge_integration_for_instance()
            .with(eq(InstanceId::new("ins_1")))
            .returning(|_| Ok(Some(bridge_integration())));
        bridge
            .expect_find_bridge_integration_for_instance()
            .with(eq(InstanceId::new("ins_2")))
            .returning(|_| Ok(None));
        let directory = BridgeTableDirectory::new(Arc::new(bridge));
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
}
