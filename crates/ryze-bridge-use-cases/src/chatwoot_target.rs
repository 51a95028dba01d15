//! Where and as whom the bridge calls Chatwoot for an integration: its base URL and
//! account, with the API token opened from the vault.

use ryze_domain::{BridgeIntegration, SecretOwner};
use ryze_ports::chatwoot::ChatwootTarget;
use ryze_ports::{SecretVault, VaultError};

/// The integration's Chatwoot target, its sealed API token opened for the integration.
pub(crate) fn chatwoot_target_of(
    vault: &dyn SecretVault,
    integration: &BridgeIntegration,
) -> Result<ChatwootTarget, VaultError> {
    let token = vault.open(
        &integration.api_token,
        &SecretOwner::bridge_chatwoot_api_token(&integration.id),
    )?;
    Ok(ChatwootTarget {
        base_url: integration.settings.base_url.clone(),
        account_id: integration.settings.account_id,
        api_token: ryze_domain::ChatwootApiToken::from_secret(token),
    })
}
