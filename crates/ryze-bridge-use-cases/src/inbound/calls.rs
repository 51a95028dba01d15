//! `call.update` → Chatwoot: one notice when a call rings, in the caller's conversation
//! (a group's in a group), and one follow-up with the outcome, as a reply to the notice.
//! Later events of a call whose outcome is written (an answered call that ends) add
//! nothing.
//!
//! Each of the two is written as a message of its own, with a WhatsApp-like id of its
//! own (`call:<id>` and `call:<id>:outcome`), through the same path as a WhatsApp
//! message: same contact and conversation resolution, same exactly-once link.

use ryze_domain::{call_notice_text, CallStage};
use ryze_ports::whatsapp_events::{
    CallStatus, CallUpdate, Chat, ChatType, Direction, MessageBody, Participant, Quoted,
    TextContent, WhatsAppMessage,
};

use super::relay::{InboundRelay, RelayFailure, RelayOutcome};

/// The prefix of the ids the bridge gives call notices: never a WhatsApp message's.
const CALL_NOTICE_ID_PREFIX: &str = "call:";

/// Whether a message id is a call notice's (which WhatsApp does not know: an agent's
/// reply to it quotes nothing).
pub(crate) fn is_call_notice_id(id: &str) -> bool {
    id.starts_with(CALL_NOTICE_ID_PREFIX)
}

impl InboundRelay {
    pub(super) async fn relay_call(&self, call: &CallUpdate) -> Result<RelayOutcome, RelayFailure> {
        let Some(stage) = stage_of(&call.status) else {
            return Ok(RelayOutcome::Skipped("call status without a notice"));
        };
        let notice_id = format!("{CALL_NOTICE_ID_PREFIX}{}", call.id);
        let (id, quoted) = if stage.is_outcome() {
            let quoted = Quoted {
                id: notice_id.clone(),
                sender: None,
                type_name: None,
                text: None,
            };
            (format!("{notice_id}:outcome"), Some(quoted))
        } else {
            (notice_id, None)
        };
        self.relay_message(&notice_message(call, id, quoted, stage))
            .await
    }
}

/// The engine's call status, as agents are told; `None` for a status not shown.
fn stage_of(status: &CallStatus) -> Option<CallStage> {
    match status {
        CallStatus::Offer => Some(CallStage::Ringing),
        CallStatus::Accept => Some(CallStage::Answered),
        CallStatus::Reject => Some(CallStage::Declined),
        CallStatus::Timeout | CallStatus::Terminate => Some(CallStage::Missed),
        CallStatus::Other(_) => None,
    }
}

/// The notice as an incoming message from the caller, in their chat or the group's.
fn notice_message(
    call: &CallUpdate,
    id: String,
    quoted: Option<Quoted>,
    stage: CallStage,
) -> WhatsAppMessage {
    let caller = if call.from.ends_with("@lid") {
        Participant {
            jid: None,
            lid: Some(call.from.clone()),
            name: call.from_name.clone(),
        }
    } else {
        Participant {
            jid: Some(call.from.clone()),
            lid: None,
            name: call.from_name.clone(),
        }
    };
    let chat = match &call.group {
        Some(group) => Chat {
            jid: Some(group.jid.clone()),
            lid: None,
            name: group.name.clone(),
            kind: ChatType::Group,
        },
        None => Chat {
            jid: caller.jid.clone(),
            lid: caller.lid.clone(),
            name: call.from_name.clone(),
            kind: ChatType::Private,
        },
    };
    WhatsAppMessage {
        id,
        direction: Direction::Incoming,
        timestamp: call.timestamp,
        chat,
        sender: caller,
        quoted,
        body: MessageBody::Text(TextContent {
            text: call_notice_text(stage, call.video),
        }),
    }
}
