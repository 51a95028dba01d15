//! The status conversation of an integration: one Chatwoot contact per instance
//! (`WhatsApp · <instance name>`), never a customer, where the bridge posts the instance's connection
//! changes and where agents type commands. What it says, and which commands it knows.
//! Nothing typed there ever reaches WhatsApp.

/// The contact's identifier in Chatwoot: this prefix and the instance id. No WhatsApp id
/// looks like it, so the contact is never taken for a customer's.
pub const STATUS_CONTACT_IDENTIFIER_PREFIX: &str = "ryze-status:";

/// The status contact's identifier for the instance with this id.
pub fn status_contact_identifier(instance_id: &str) -> String {
    format!("{STATUS_CONTACT_IDENTIFIER_PREFIX}{instance_id}")
}

/// Whether a contact identifier is a status contact's.
pub fn is_status_contact_identifier(identifier: &str) -> bool {
    identifier.starts_with(STATUS_CONTACT_IDENTIFIER_PREFIX)
}

/// The status contact's name.
pub fn status_contact_name(instance_name: &str) -> String {
    format!("WhatsApp · {instance_name}")
}

/// A command typed in the status conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCommand {
    /// `/status`: the connection as last reported.
    Status,
    /// `/reconnect`: the engine reconnects (a new QR code follows when the device was
    /// logged out).
    Reconnect,
    /// `/logout`: the engine unlinks the device.
    Logout,
    /// `/help`, or anything else: what can be typed here.
    Help,
}

impl StatusCommand {
    /// Reads an agent's message: its first word, without case, with or without `/`.
    pub fn parse(text: &str) -> Self {
        let word = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_start_matches('/')
            .to_lowercase();
        match word.as_str() {
            "status" => Self::Status,
            "reconnect" => Self::Reconnect,
            "logout" => Self::Logout,
            _ => Self::Help,
        }
    }
}

/// The answer to `/help` (and to anything the conversation does not know).
pub const STATUS_HELP: &str = "ℹ️ This conversation shows the WhatsApp connection of this inbox. \
Nothing typed here is sent to WhatsApp. Commands:\n\
/status: the connection now\n\
/reconnect: connect again (a new QR code follows if the phone logged the device out)\n\
/logout: unlink this device from the WhatsApp account\n\
/help: this list";

/// What the instance's connection looks like, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionNotice<'a> {
    /// Connected, with the account's number (digits) and push name when known.
    Connected {
        number: Option<&'a str>,
        name: Option<&'a str>,
    },
    /// Connecting, and why when known.
    Connecting { reason: Option<&'a str> },
    /// Disconnected, and why when known.
    Disconnected { reason: Option<&'a str> },
    /// Waiting for a QR code to be scanned.
    WaitingForScan,
    /// A state this version does not know.
    Other { state: &'a str },
}

impl ConnectionNotice<'_> {
    /// The message the status conversation shows.
    pub fn text(&self) -> String {
        match self {
            Self::Connected { number, name } => {
                let account = match (number, name) {
                    (Some(number), Some(name)) => format!(" as +{number} ({name})"),
                    (Some(number), None) => format!(" as +{number}"),
                    (None, Some(name)) => format!(" as {name}"),
                    (None, None) => String::new(),
                };
                format!("✅ WhatsApp connected{account}.")
            }
            Self::Connecting { reason } => match reason {
                Some(reason) => format!("🔄 Connecting to WhatsApp ({}).", reason_text(reason)),
                None => "🔄 Connecting to WhatsApp.".to_owned(),
            },
            Self::Disconnected { reason } => match reason {
                Some(reason) => format!("⚠️ WhatsApp disconnected: {}.", reason_text(reason)),
                None => "⚠️ WhatsApp disconnected.".to_owned(),
            },
            Self::WaitingForScan => "📱 Scan this QR code with WhatsApp on the phone \
(Settings → Linked devices → Link a device) to connect. A new code replaces this one."
                .to_owned(),
            Self::Other { state } => format!("ℹ️ WhatsApp connection state: {state}."),
        }
    }
}

/// A `reason` of the engine contract in words; unknown ones as they are.
fn reason_text(reason: &str) -> String {
    match reason {
        "pairing" => "waiting for the QR code to be scanned".to_owned(),
        "network" => "the connection dropped; reconnecting by itself".to_owned(),
        "replaced" => "another session took over the connection".to_owned(),
        "logged_out" => {
            "the device was logged out on the phone; type /reconnect for a new QR code".to_owned()
        }
        "banned" => "WhatsApp banned the account".to_owned(),
        "client_outdated" => "WhatsApp refuses this client version".to_owned(),
        "shutdown" => "the WhatsApp engine is stopping".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_from_the_first_word() {
        assert_eq!(StatusCommand::parse("/status"), StatusCommand::Status);
        assert_eq!(
            StatusCommand::parse("  /STATUS please"),
            StatusCommand::Status
        );
        assert_eq!(StatusCommand::parse("reconnect"), StatusCommand::Reconnect);
        assert_eq!(StatusCommand::parse("/logout"), StatusCommand::Logout);
        assert_eq!(StatusCommand::parse("/help"), StatusCommand::Help);
        assert_eq!(StatusCommand::parse("olá"), StatusCommand::Help);
        assert_eq!(StatusCommand::parse(""), StatusCommand::Help);
    }

    #[test]
    fn notices_name_the_account_and_the_reason() {
        let connected = ConnectionNotice::Connected {
            number: Some("5511988887777"),
            name: Some("Loja Orion"),
        };
        assert_eq!(
            connected.text(),
            "✅ WhatsApp connected as +5511988887777 (Loja Orion)."
        );
        let logged_out = ConnectionNotice::Disconnected {
            reason: Some("logged_out"),
        };
        assert!(
            logged_out.text().contains("/reconnect"),
            "{}",
            logged_out.text()
        );
        assert_eq!(
            ConnectionNotice::Disconnected {
                reason: Some("weird")
            }
            .text(),
            "⚠️ WhatsApp disconnected: weird."
        );
        assert!(status_contact_identifier("ins_1").starts_with("ryze-status:"));
        assert!(is_status_contact_identifier(&status_contact_identifier(
            "ins_1"
        )));
        assert_eq!(status_contact_name("suporte"), "WhatsApp · suporte");
    }
}
