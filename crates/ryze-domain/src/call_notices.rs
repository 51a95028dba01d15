//! What agents read in Chatwoot about a WhatsApp call: one notice when it rings and one
//! follow-up with its outcome. Chatwoot's API cannot change a message's text once
//! written, so a call is at most these two messages, never one per engine event.

/// Where a call stands, as agents are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStage {
    /// It rings: the notice.
    Ringing,
    /// Answered on the phone (the outcome).
    Answered,
    /// Declined on one of the account's devices (the outcome).
    Declined,
    /// Nobody answered, or the caller gave up (the outcome).
    Missed,
}

impl CallStage {
    /// Whether this stage is a call's outcome (the follow-up), not its notice.
    pub fn is_outcome(self) -> bool {
        !matches!(self, Self::Ringing)
    }
}

/// The text of a call's notice or outcome, for a voice or video call.
pub fn call_notice_text(stage: CallStage, video: bool) -> String {
    let (kind, kind_capitalised) = if video {
        ("video", "Video")
    } else {
        ("voice", "Voice")
    };
    match stage {
        CallStage::Ringing => format!("📞 Incoming {kind} call"),
        CallStage::Answered => format!("📞 {kind_capitalised} call answered on the phone"),
        CallStage::Declined => format!("📞 {kind_capitalised} call declined on the phone"),
        CallStage::Missed => format!("📞 Missed {kind} call"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_reads_as_agents_expect() {
        assert_eq!(
            call_notice_text(CallStage::Ringing, false),
            "📞 Incoming voice call"
        );
        assert_eq!(
            call_notice_text(CallStage::Ringing, true),
            "📞 Incoming video call"
        );
        assert_eq!(
            call_notice_text(CallStage::Answered, true),
            "📞 Video call answered on the phone"
        );
        assert_eq!(
            call_notice_text(CallStage::Declined, false),
            "📞 Voice call declined on the phone"
        );
        assert_eq!(
            call_notice_text(CallStage::Missed, false),
            "📞 Missed voice call"
        );
        assert!(!CallStage::Ringing.is_outcome());
        assert!(CallStage::Missed.is_outcome());
    }
}
