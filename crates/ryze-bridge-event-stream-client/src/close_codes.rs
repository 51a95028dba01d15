//! The close codes of docs/event-stream.md ("Closing") and how a close reads in an error.

use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// The API ended the integration (deactivated, instance deleted): the stream ends.
pub const CLOSE_INTEGRATION_ENDED: u16 = 1000;
/// Either side is shutting down: reconnect with backoff.
pub const CLOSE_SHUTTING_DOWN: u16 = 1001;
/// A side broke the framing.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1008;
/// The API accepted a newer connection for the same instance and closed this one.
pub const CLOSE_REPLACED: u16 = 4409;

/// The start of the `Unavailable` detail when the connection was replaced by a newer one
/// (close `4409`): the session can tell it apart from a broken connection, since the
/// newer connection is its own and nothing needs to reconnect.
pub const REPLACED_DETAIL_PREFIX: &str = "replaced by a newer connection for the same instance";

/// Words for a close frame the API sent, with its code and reason.
pub(crate) fn describe_close(frame: Option<&CloseFrame>) -> String {
    let Some(frame) = frame else {
        return "the API closed the connection without a close code".to_owned();
    };
    let code = u16::from(frame.code);
    let reason = frame.reason.as_str();
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(", reason: {reason}")
    };
    match code {
        CLOSE_INTEGRATION_ENDED => format!("the integration ended (close {code}{reason})"),
        CLOSE_SHUTTING_DOWN => format!("the API is shutting down (close {code}{reason})"),
        CLOSE_PROTOCOL_ERROR => {
            format!("the API reported a protocol error (close {code}{reason})")
        }
        CLOSE_REPLACED => format!("{REPLACED_DETAIL_PREFIX} (close {code}{reason})"),
        _ => format!("the API closed the connection (close {code}{reason})"),
    }
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    fn frame(code: u16, reason: &str) -> CloseFrame {
        CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }
    }

    #[test]
    fn every_documented_code_reads_with_its_code_and_reason() {
        assert_eq!(
            describe_close(Some(&frame(1001, "restarting"))),
            "the API is shutting down (close 1001, reason: restarting)"
        );
        assert_eq!(
            describe_close(Some(&frame(1008, "ack beyond the end"))),
            "the API reported a protocol error (close 1008, reason: ack beyond the end)"
        );
        assert!(
            describe_close(Some(&frame(4409, "replaced by a newer connection")))
                .starts_with(REPLACED_DETAIL_PREFIX)
        );
        assert_eq!(
            describe_close(Some(&frame(4000, ""))),
            "the API closed the connection (close 4000)"
        );
        assert_eq!(
            describe_close(None),
            "the API closed the connection without a close code"
        );
    }
}
