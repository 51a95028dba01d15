//! Who is calling: the owner of the token presented with a request.

use crate::{Account, AccountId, Instance};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A TokenAccount: acts on every instance of its account.
    Account(Account),
    /// A TokenInstance: acts on its own instance only.
    Instance(Instance),
}

impl Principal {
    pub fn account_id(&self) -> &AccountId {
        match self {
            Principal::Account(account) => &account.id,
            Principal::Instance(instance) => &instance.account_id,
        }
    }
}
