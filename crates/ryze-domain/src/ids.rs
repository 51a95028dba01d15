//! Identifiers of the things the control plane stores. They are opaque strings with a
//! readable prefix (`acc_`, `ins_`, `int_`) so that an id in a log line says what it names.

use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// Identifies an account (`acc_…`). Accounts own instances.
    AccountId
);
string_id!(
    /// Identifies an instance across every account (`ins_…`). Instance *names* are only
    /// unique inside one account, so everything that crosses the API boundary towards the
    /// bridge names an instance by this id.
    InstanceId
);
string_id!(
    /// The id the bridge (RyzeIntegrations) gave an integration (`int_…`).
    BridgeIntegrationId
);
