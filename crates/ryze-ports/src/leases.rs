//! Leases of integrations among bridge nodes: at most one node relays an integration at
//! a time. A lease is a row per integration with its holder, an expiry and an `epoch`
//! (the fencing token) that grows by one each time another holder takes the lease, and
//! never goes back (releasing keeps the row). Every implementation reads the time from
//! the database, so nodes with skewed clocks agree on what is expired. Every
//! implementation must pass the shared contract suite in `ryze-store-contract-tests`.

use std::time::Duration;

use async_trait::async_trait;
use ryze_domain::BridgeIntegrationId;

use crate::StoreError;

/// A lease this node holds, as [`IntegrationLeases::try_acquire`] granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub integration: BridgeIntegrationId,
    /// The holder: the node's id.
    pub node: String,
    /// The fencing token: larger for every later holder.
    pub epoch: i64,
}

/// Who holds an integration's lease, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub node: String,
    pub epoch: i64,
    /// Whether its expiry is still ahead (by the database's clock).
    pub live: bool,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IntegrationLeases: Send + Sync {
    /// Takes the integration's lease for `ttl` when nobody holds it or its holder let it
    /// expire (the epoch then grows by one); `None` while another holder's lease (or
    /// this node's own: renew it instead) is unexpired.
    async fn try_acquire(
        &self,
        integration: &BridgeIntegrationId,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError>;

    /// Extends the lease to `ttl` from now; `false` once another holder took it over
    /// (its epoch changed) or it was released.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, StoreError>;

    /// Gives the lease up at once (the epoch stays); nothing when it was taken over.
    async fn release(&self, lease: &Lease) -> Result<(), StoreError>;

    /// The stored holder of the integration's lease, expired or not; `None` when it
    /// was never leased or was released.
    async fn held_by(
        &self,
        integration: &BridgeIntegrationId,
    ) -> Result<Option<LeaseHolder>, StoreError>;

    /// Announces that `node` is alive for `ttl` (the lease loop's heartbeat), and
    /// returns every node announced alive now, this one included, sorted.
    async fn announce_node(&self, node: &str, ttl: Duration) -> Result<Vec<String>, StoreError>;
}
