//! The message endpoints' use cases over mocked ports: who may send on which instance,
//! body validation, `mediaUrl` fetched and sniffed, `id` passed through, and what each
//! engine answer becomes for the caller.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use mockall::predicate::eq;
use ryze_api_use_cases::{
    Budgets, CommandDone, ControlPlane, EngineFailure, InstanceAccessError, MediaDownloadError,
    MessageCommandError, Messaging, MessagingCaller, MessagingEngine, MessagingSettings,
    SentMessage,
};
use ryze_domain::{
    DeleteMessageCommand, DeleteMessageRequest as DeleteInput, EditMessageCommand,
    EditMessageRequest as EditInput, Instance, InstanceId, MarkReadCommand,
    MarkReadRequest as MarkReadInput, MediaMessageRequest as MediaMessageInput,
    MessageCommandRefusal, Principal, ReactionRequest as ReactionInput, SendMediaCommand,
    SendReactionCommand, SendTextCommand, TextMessageRequest as TextMessageInput,
};
use ryze_ports::whatsapp_events::{
    DeleteMessage, EditMessage, EngineReceipt, InstanceAction, MarkRead, MediaData, MediaDownload,
    MediaSource, OutgoingMediaType, SendMedia, SendPresence, SendReaction, SendText, SetChatLabels,
};
use ryze_ports::{
    FetchedMedia, MediaFetchError, MockMediaFetcher, MockSecretVault, MockStore,
    MockWhatsAppSender, SendError, WhatsAppSender,
};
use ryze_test_support::control_plane::{AccountBuilder, InstanceBuilder};
use ryze_test_support::mock_engines::{engine_refusing_sends_with, engine_sending_one_media_where};
use ryze_test_support::mock_stores::{store_with_suporte_and_vendas, with_integrations_on};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02";
const OGG_OPUS: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01";
const SENT_ID: &str = "3EB0F1E2D3C4B5A6978877";

fn instance(account: &str, name: &str) -> Instance {
    InstanceBuilder::new(account, name).build()
}

fn account_caller() -> MessagingCaller {
    MessagingCaller::Token(AccountBuilder::default().principal())
}

fn instance_caller(name: &str) -> MessagingCaller {
    MessagingCaller::Token(Principal::Instance(instance("acc_1", name)))
}

/// Account `acc_1` has `suporte`; account `acc_2` has `vendas`; both have a Chatwoot
/// integration.
fn store() -> MockStore {
    store_with_integrations_on(&["ins_suporte", "ins_vendas"])
}

/// [`store`]'s instances, with a Chatwoot integration on `integrated` only.
fn store_with_integrations_on(integrated: &'static [&'static str]) -> MockStore {
    let mut store = store_with_suporte_and_vendas();
    with_integrations_on(&mut store, integrated);
    store
}

fn control_plane() -> ControlPlane {
    control_plane_over(store())
}

fn control_plane_over(store: MockStore) -> ControlPlane {
    ControlPlane::new(
        Arc::new(store),
        Arc::new(MockSecretVault::new()),
        None,
        Budgets::default(),
    )
}

fn messaging_with(
    whatsapp: impl WhatsAppSender + 'static,
    fetcher: MockMediaFetcher,
    settings: MessagingSettings,
) -> Messaging {
    Messaging::new(
        control_plane(),
        Some(MessagingEngine {
            whatsapp: Arc::new(whatsapp),
            media_fetcher: Arc::new(fetcher),
        }),
        settings,
    )
}

fn messaging(whatsapp: MockWhatsAppSender) -> Messaging {
    messaging_with(
        whatsapp,
        MockMediaFetcher::new(),
        MessagingSettings::default(),
    )
}

fn receipt(id: &str) -> EngineReceipt {
    EngineReceipt {
        message_id: Some(id.to_owned()),
        timestamp: Some(1_718_000_900),
    }
}

/// What the delivery layer does with a body: the instance is authorized first, then the
/// body is made into its command, then the use case runs it.
trait AsTheDeliveryLayer {
    async fn send_text_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: TextMessageInput,
    ) -> Result<SentMessage, MessageCommandError>;
    async fn send_media_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: MediaMessageInput,
    ) -> Result<SentMessage, MessageCommandError>;
    async fn send_reaction_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: ReactionInput,
    ) -> Result<SentMessage, MessageCommandError>;
    async fn edit_message_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: EditInput,
    ) -> Result<CommandDone, MessageCommandError>;
    async fn delete_message_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: DeleteInput,
    ) -> Result<CommandDone, MessageCommandError>;
    async fn mark_read_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: MarkReadInput,
    ) -> Result<CommandDone, MessageCommandError>;
}

impl AsTheDeliveryLayer for Messaging {
    async fn send_text_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: TextMessageInput,
    ) -> Result<SentMessage, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        self.send_text(&instance, SendTextCommand::try_from(request)?)
            .await
    }

    async fn send_media_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: MediaMessageInput,
    ) -> Result<SentMessage, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        let command = SendMediaCommand::from_request(request, self.settings().max_media_bytes)?;
        self.send_media(&instance, command).await
    }

    async fn send_reaction_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: ReactionInput,
    ) -> Result<SentMessage, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        self.send_reaction(&instance, SendReactionCommand::try_from(request)?)
            .await
    }

    async fn edit_message_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: EditInput,
    ) -> Result<CommandDone, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        self.edit_message(&instance, EditMessageCommand::try_from(request)?)
            .await
    }

    async fn delete_message_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: DeleteInput,
    ) -> Result<CommandDone, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        self.delete_message(&instance, DeleteMessageCommand::try_from(request)?)
            .await
    }

    async fn mark_read_request(
        &self,
        caller: &MessagingCaller,
        instance: &str,
        request: MarkReadInput,
    ) -> Result<CommandDone, MessageCommandError> {
        let instance = self.authorize(caller, instance).await?;
        self.mark_read(&instance, MarkReadCommand::try_from(request)?)
            .await
    }
}

/// The customer every test writes to.
const NUMBER: &str = "5511912345678";

fn text() -> TextMessageInput {
    TextMessageInput {
        number: Some(NUMBER.to_owned()),
        message: Some("Seu pedido sai hoje.".to_owned()),
        ..Default::default()
    }
}

/// A `media_type` message to [`NUMBER`] with no file yet: each test adds its source.
fn media(media_type: &str) -> MediaMessageInput {
    MediaMessageInput {
        number: Some(NUMBER.into()),
        media_type: Some(media_type.into()),
        ..Default::default()
    }
}

/// The account sends `input` on its `suporte` instance.
async fn account_sends_media(
    messaging: &Messaging,
    input: MediaMessageInput,
) -> Result<SentMessage, MessageCommandError> {
    messaging
        .send_media_request(&account_caller(), "suporte", input)
        .await
}

/// The account sends [`text`] on its `suporte` instance.
async fn account_sends_text(messaging: &Messaging) -> Result<SentMessage, MessageCommandError> {
    messaging
        .send_text_request(&account_caller(), "suporte", text())
        .await
}

/// What `caller` is told when it sends [`text`] on `instance`, with an engine that must
/// not be reached.
async fn text_refused(caller: &MessagingCaller, instance: &str) -> MessageCommandError {
    messaging(MockWhatsAppSender::new())
        .send_text_request(caller, instance, text())
        .await
        .unwrap_err()
}

/// A fetcher that expects one fetch of `url` for `mediaUrl` under `max_bytes`, and
/// answers it with `answer`.
fn fetcher_expecting(
    url: &'static str,
    max_bytes: u64,
    answer: Result<FetchedMedia, MediaFetchError>,
) -> MockMediaFetcher {
    let mut fetcher = MockMediaFetcher::new();
    fetcher
        .expect_fetch()
        .with(eq("mediaUrl"), eq(url), eq(max_bytes))
        .times(1)
        .returning(move |_, _, _| answer.clone());
    fetcher
}

/// An engine that accepts one media message on `ins_suporte`, for which `expected` holds.
fn engine_sending_media_where(
    expected: impl Fn(&SendMedia) -> bool + Send + 'static,
) -> MockWhatsAppSender {
    engine_sending_one_media_where(
        move |instance, command| instance.as_str() == "ins_suporte" && expected(command),
        receipt(SENT_ID),
    )
}

/// An engine that accepts one text on `instance_id`.
fn engine_sending_text_on(instance_id: &'static str) -> MockWhatsAppSender {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .withf(move |instance, _| instance.as_str() == instance_id)
        .times(1)
        .returning(|_, _| Ok(receipt(SENT_ID)));
    whatsapp
}

// ----------------------------------------------------------------------- who may send

#[tokio::test]
async fn an_account_token_sends_on_its_instance_by_name() {
    let sent = account_sends_text(&messaging(engine_sending_text_on("ins_suporte")))
        .await
        .unwrap();
    assert_eq!(
        sent,
        SentMessage {
            message_id: SENT_ID.to_owned(),
            timestamp: 1_718_000_900
        }
    );
}

#[tokio::test]
async fn an_instance_token_sends_on_its_own_instance_only() {
    messaging(engine_sending_text_on("ins_suporte"))
        .send_text_request(&instance_caller("suporte"), "suporte", text())
        .await
        .unwrap();
    let refused = text_refused(&instance_caller("suporte"), "vendas").await;
    assert_eq!(
        refused.to_string(),
        "Instance token does not match instance vendas — use that instance's token or the account token"
    );
}

#[tokio::test]
async fn an_account_token_cannot_see_another_accounts_instance() {
    for name in ["vendas", "nao-existe", "ins_vendas"] {
        let refused = text_refused(&account_caller(), name).await;
        assert_eq!(
            refused,
            MessageCommandError::Access(InstanceAccessError::NotFound),
            "{name}"
        );
        assert_eq!(refused.to_string(), "instance not found");
    }
}

#[tokio::test]
async fn the_bridge_sends_on_any_instance_named_by_its_id() {
    messaging(engine_sending_text_on("ins_vendas"))
        .send_text_request(&MessagingCaller::Bridge, "ins_vendas", text())
        .await
        .unwrap();
    for segment in ["vendas", "ins_nao_existe", ""] {
        let refused = text_refused(&MessagingCaller::Bridge, segment).await;
        assert_eq!(
            refused,
            MessageCommandError::Access(InstanceAccessError::NotFound),
            "{segment:?}"
        );
    }
}

#[tokio::test]
async fn the_bridge_is_refused_an_instance_whose_integration_was_deactivated() {
    // `vendas` exists but its integration is gone (deactivated, perhaps while the bridge
    // could not be told): the bridge's calls are refused as for a deleted instance and
    // never reach the engine, while an integrated instance still sends.
    let messaging = Messaging::new(
        control_plane_over(store_with_integrations_on(&["ins_suporte"])),
        Some(MessagingEngine {
            whatsapp: Arc::new(engine_sending_text_on("ins_suporte")),
            media_fetcher: Arc::new(MockMediaFetcher::new()),
        }),
        MessagingSettings::default(),
    );
    let refused = messaging
        .send_text_request(&MessagingCaller::Bridge, "ins_vendas", text())
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        MessageCommandError::Access(InstanceAccessError::NotFound)
    );
    let refused_download = messaging
        .download_media(&MessagingCaller::Bridge, "ins_vendas", Some("3EB0AA"))
        .await
        .unwrap_err();
    assert_eq!(
        refused_download,
        MediaDownloadError::Access(InstanceAccessError::NotFound)
    );
    messaging
        .send_text_request(&MessagingCaller::Bridge, "ins_suporte", text())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_instance_is_checked_before_the_body() {
    let refused = messaging(MockWhatsAppSender::new())
        .send_text_request(&account_caller(), "vendas", TextMessageInput::default())
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), "instance not found");
}

// --------------------------------------------------------------------------- bodies

#[tokio::test]
async fn invalid_bodies_never_reach_the_engine() {
    let messaging = messaging(MockWhatsAppSender::new());
    let refused = messaging
        .send_text_request(
            &account_caller(),
            "suporte",
            TextMessageInput {
                number: Some("120363@newsletter".into()),
                message: Some(String::new()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "invalid body: number: must be a phone number or a @s.whatsapp.net, @lid or @g.us id, not 120363@newsletter; \
         message: is required and must not be blank"
    );
    let refused = messaging
        .send_reaction_request(&account_caller(), "suporte", ReactionInput::default())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("invalid body: number: is required"),
        "{refused}"
    );
    let refused = messaging
        .edit_message_request(&account_caller(), "suporte", EditInput::default())
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "invalid body: messageId: is required: the WhatsApp id of the message; content: is required and must not be blank"
    );
    let not_base64 = MediaMessageInput {
        media_base64: Some("não é base64".into()),
        ..media("image")
    };
    let refused = account_sends_media(&messaging, not_base64)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("invalid body: mediaBase64: is not valid base64"),
        "{refused}"
    );
}

#[tokio::test]
async fn without_an_engine_every_command_is_not_connected_after_the_checks() {
    let messaging = Messaging::without_engine(control_plane());
    let refused = account_sends_text(&messaging).await.unwrap_err();
    assert_eq!(
        refused,
        MessageCommandError::Engine(EngineFailure::NotConnected)
    );
    assert_eq!(refused.to_string(), "Instance is not connected to WhatsApp");
    // The body is still checked first.
    let refused = messaging
        .send_text_request(&account_caller(), "suporte", TextMessageInput::default())
        .await
        .unwrap_err();
    assert!(refused.to_string().starts_with("invalid body: "));
    let refused = messaging
        .download_media(&account_caller(), "suporte", Some("3EB0AA"))
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), "Instance is not connected to WhatsApp");
}

// --------------------------------------------------------------------- what is sent

#[tokio::test]
async fn the_id_and_reply_are_passed_through_and_the_number_normalised() {
    let normalised = SendText {
        number: "5511912345678@s.whatsapp.net".into(),
        message: "*Ana*:\nOi".into(),
        reply_to: Some("3EB0C431D5A7B2F1A9E0C1".into()),
        id: Some(SENT_ID.into()),
    };
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_send_text()
        .with(eq(InstanceId::new("ins_suporte")), eq(normalised))
        .times(1)
        .returning(|_, _| Ok(receipt(SENT_ID)));
    let sent = messaging(whatsapp)
        .send_text_request(
            &MessagingCaller::Bridge,
            "ins_suporte",
            TextMessageInput {
                number: Some("5511912345678:3@s.whatsapp.net".into()),
                message: Some("*Ana*:\nOi".into()),
                reply_to: Some(" 3EB0C431D5A7B2F1A9E0C1 ".into()),
                id: Some(SENT_ID.into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.message_id, SENT_ID);
}

#[tokio::test]
async fn a_receipt_without_a_timestamp_gets_the_apis_clock() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp.expect_send_text().returning(|_, _| {
        Ok(EngineReceipt {
            message_id: Some(SENT_ID.into()),
            timestamp: None,
        })
    });
    let before = Utc::now().timestamp();
    let sent = account_sends_text(&messaging(whatsapp)).await.unwrap();
    assert!(sent.timestamp >= before, "{sent:?}");
}

#[tokio::test]
async fn media_by_url_is_fetched_sniffed_and_sent_as_base64() {
    let fetcher = fetcher_expecting(
        "https://cdn.example/f?id=1",
        ryze_api_use_cases::MAX_MEDIA_BYTES,
        Ok(FetchedMedia {
            bytes: PNG.to_vec(),
            content_type: Some("application/octet-stream".into()),
            file_name: Some("foto.png".into()),
        }),
    );
    let expected = SendMedia {
        number: NUMBER.into(),
        media_type: OutgoingMediaType::Image,
        source: MediaSource::Base64(MediaData::new(STANDARD.encode(PNG))),
        message: Some("Catálogo".into()),
        mime_type: Some("image/png".into()),
        file_name: Some("foto.png".into()),
        is_voice: false,
        reply_to: None,
        id: Some(SENT_ID.into()),
    };
    let whatsapp = engine_sending_media_where(move |command| *command == expected);
    let by_url = MediaMessageInput {
        media_url: Some("https://cdn.example/f?id=1".into()),
        message: Some("Catálogo".into()),
        // Wrong: the bytes say PNG.
        mime_type: Some("image/jpeg".into()),
        id: Some(SENT_ID.into()),
        ..media("image")
    };
    let messaging = messaging_with(whatsapp, fetcher, MessagingSettings::default());
    account_sends_media(&messaging, by_url).await.unwrap();
}

#[tokio::test]
async fn a_declared_type_with_parameters_is_kept_when_the_bytes_agree() {
    let fetcher = fetcher_expecting(
        "https://cdn.example/a",
        ryze_api_use_cases::MAX_MEDIA_BYTES,
        Ok(FetchedMedia {
            bytes: OGG_OPUS.to_vec(),
            content_type: None,
            file_name: None,
        }),
    );
    let whatsapp = engine_sending_media_where(|command| {
        command.mime_type.as_deref() == Some("audio/ogg; codecs=opus")
            && command.is_voice
            && command.file_name.as_deref() == Some("resposta.ogg")
    });
    let voice_note = MediaMessageInput {
        media_url: Some("https://cdn.example/a".into()),
        mime_type: Some("audio/ogg; codecs=opus".into()),
        file_name: Some("resposta.ogg".into()),
        is_voice: Some(true),
        ..media("audio")
    };
    let messaging = messaging_with(whatsapp, fetcher, MessagingSettings::default());
    account_sends_media(&messaging, voice_note).await.unwrap();
}

#[tokio::test]
async fn inline_base64_is_sent_as_given_with_the_sniffed_type_when_none_is_declared() {
    let encoded = STANDARD.encode(PNG);
    let expected = MediaSource::Base64(MediaData::new(encoded.clone()));
    let whatsapp = engine_sending_media_where(move |command| {
        command.source == expected && command.mime_type.as_deref() == Some("image/png")
    });
    let inline = MediaMessageInput {
        media_base64: Some(encoded),
        ..media("image")
    };
    account_sends_media(&messaging(whatsapp), inline)
        .await
        .unwrap();
}

#[tokio::test]
async fn media_over_the_limit_is_refused_whatever_its_source() {
    let settings = MessagingSettings {
        max_media_bytes: 16,
        ..MessagingSettings::default()
    };
    let no_fetch = messaging_with(MockWhatsAppSender::new(), MockMediaFetcher::new(), settings);
    let inline = MediaMessageInput {
        media_base64: Some(STANDARD.encode([1u8; 64])),
        ..media("document")
    };
    let inline = account_sends_media(&no_fetch, inline).await.unwrap_err();
    assert_eq!(
        inline,
        MessageCommandError::Refused(MessageCommandRefusal::MediaOverLimit { limit_bytes: 16 })
    );
    assert_eq!(
        inline.to_string(),
        "media too large: the API sends files of at most 16 bytes"
    );
    let fetcher = fetcher_expecting(
        "https://cdn.example/big",
        16,
        Err(MediaFetchError::TooLarge { limit_bytes: 16 }),
    );
    let fetching = messaging_with(MockWhatsAppSender::new(), fetcher, settings);
    let by_url = MediaMessageInput {
        media_url: Some("https://cdn.example/big".into()),
        ..media("document")
    };
    let by_url = account_sends_media(&fetching, by_url).await.unwrap_err();
    assert_eq!(
        by_url,
        MessageCommandError::Refused(MessageCommandRefusal::MediaOverLimit { limit_bytes: 16 })
    );
}

#[tokio::test]
async fn media_url_failures_say_whether_the_url_or_its_server_is_at_fault() {
    let cases = [
        (
            MediaFetchError::Refused {
                message: "mediaUrl resolves to 10.0.0.5, a private address".into(),
            },
            "invalid body: mediaUrl resolves to 10.0.0.5, a private address",
        ),
        (
            MediaFetchError::ServerRefused {
                answer: "HTTP 404".into(),
            },
            "invalid body: mediaUrl: its server answered HTTP 404; give a URL that serves the file",
        ),
        (
            MediaFetchError::ServerUnavailable {
                answer: "HTTP 503".into(),
            },
            "mediaUrl could not be fetched: its server answered HTTP 503",
        ),
        (
            MediaFetchError::Unreachable {
                detail: "connection refused".into(),
            },
            "mediaUrl could not be fetched: connection refused",
        ),
    ];
    for (failure, expected) in cases {
        let fetcher = fetcher_expecting(
            "https://cdn.example/x.png",
            ryze_api_use_cases::MAX_MEDIA_BYTES,
            Err(failure.clone()),
        );
        let fetching = messaging_with(
            MockWhatsAppSender::new(),
            fetcher,
            MessagingSettings::default(),
        );
        let by_url = MediaMessageInput {
            media_url: Some("https://cdn.example/x.png".into()),
            ..media("image")
        };
        let refused = account_sends_media(&fetching, by_url).await.unwrap_err();
        assert_eq!(refused.to_string(), expected, "{failure:?}");
    }
}

#[tokio::test]
async fn reactions_edits_deletes_and_reads_reach_the_engine_as_commands() {
    let on_suporte = || eq(InstanceId::new("ins_suporte"));
    let group = "120363025246125486@g.us";
    let reacted_to = "3EB0606060ABCDEF0123";
    let mut whatsapp = MockWhatsAppSender::new();
    let reaction = SendReaction {
        number: group.into(),
        message_id: reacted_to.into(),
        reaction: "❤️".into(),
        from_me: false,
        participant: Some("5521999990000@s.whatsapp.net".into()),
        id: Some(SENT_ID.into()),
    };
    whatsapp
        .expect_send_reaction()
        .with(on_suporte(), eq(reaction))
        .returning(|_, _| Ok(receipt(SENT_ID)));
    let edit = EditMessage {
        message_id: "3EB0AA".into(),
        content: "novo".into(),
        number: Some(NUMBER.into()),
        id: None,
    };
    whatsapp
        .expect_edit_message()
        .with(on_suporte(), eq(edit))
        .returning(|_, _| Ok(receipt("3EB0BB")));
    let delete = DeleteMessage {
        message_id: "3EB0AA".into(),
        delete_for_everyone: false,
        number: None,
        id: None,
    };
    whatsapp
        .expect_delete_message()
        .with(on_suporte(), eq(delete))
        .returning(|_, _| Ok(EngineReceipt::default()));
    let read = MarkRead {
        message_id: "3EB0AA".into(),
        number: NUMBER.into(),
        sender: None,
    };
    whatsapp
        .expect_mark_read()
        .with(on_suporte(), eq(read))
        .returning(|_, _| Ok(EngineReceipt::default()));

    let messaging = messaging(whatsapp);
    let caller = account_caller();
    let reaction = ReactionInput {
        number: Some(group.into()),
        message_id: Some(reacted_to.into()),
        reaction: Some("❤️".into()),
        from_me: None,
        participant: Some("5521999990000".into()),
        id: Some(SENT_ID.into()),
    };
    let reacted = messaging.send_reaction_request(&caller, "suporte", reaction);
    assert_eq!(reacted.await.unwrap().message_id, SENT_ID);
    let edit = EditInput {
        message_id: Some("3EB0AA".into()),
        content: Some("novo".into()),
        number: Some(NUMBER.into()),
        id: None,
    };
    let edited = messaging.edit_message_request(&caller, "suporte", edit);
    assert_eq!(edited.await.unwrap().message_id.as_deref(), Some("3EB0BB"));
    let delete = DeleteInput {
        message_id: Some("3EB0AA".into()),
        delete_for_everyone: Some(false),
        ..Default::default()
    };
    let deleted = messaging.delete_message_request(&caller, "suporte", delete);
    assert_eq!(deleted.await.unwrap().message_id, None);
    let read = MarkReadInput {
        message_id: Some("3EB0AA".into()),
        number: Some(NUMBER.into()),
        sender: None,
    };
    let marked = messaging.mark_read_request(&caller, "suporte", read);
    assert_eq!(marked.await.unwrap().message_id, None);
}

// ------------------------------------------------------------------ engine answers

#[tokio::test]
async fn each_engine_refusal_becomes_the_documented_answer() {
    let cases = [
        (
            SendError::NotConnected {
                detail: "POST http://engine:7000/v1/instances/ins_suporte/message/text: 503".into(),
            },
            EngineFailure::NotConnected,
            "Instance is not connected to WhatsApp",
        ),
        (
            SendError::InvalidRequest {
                message: "invalid body: number: bad".into(),
            },
            EngineFailure::Rejected {
                message: "invalid body: number: bad".into(),
            },
            "invalid body: number: bad",
        ),
        (
            SendError::InvalidRequest {
                message: "replyTo: unknown".into(),
            },
            EngineFailure::Rejected {
                message: "invalid body: replyTo: unknown".into(),
            },
            "invalid body: replyTo: unknown",
        ),
        (
            SendError::NotOnWhatsApp {
                message: "5511912345678 is not on WhatsApp".into(),
            },
            EngineFailure::NotOnWhatsApp {
                message: "5511912345678 is not on WhatsApp".into(),
            },
            "5511912345678 is not on WhatsApp",
        ),
        (
            SendError::MessageNotFound,
            EngineFailure::MessageNotFound,
            "message not found",
        ),
        (
            SendError::MediaGone,
            EngineFailure::MediaGone,
            "media no longer available",
        ),
        (
            SendError::MediaTooLarge {
                message: "the video exceeds 16 MiB".into(),
            },
            EngineFailure::MediaTooLarge {
                message: "the video exceeds 16 MiB".into(),
            },
            "the video exceeds 16 MiB",
        ),
        (
            SendError::RateLimited {
                detail: "POST http://engine:7000/…: 429".into(),
            },
            EngineFailure::Throttled,
            "WhatsApp is throttling this instance; retry later",
        ),
        (
            SendError::WhatsAppFailed {
                detail: "POST http://engine:7000/…: 502".into(),
            },
            EngineFailure::Failed,
            "WhatsApp failed to carry out the command; retry later",
        ),
    ];
    for (error, failure, expected) in cases {
        let whatsapp = engine_refusing_sends_with(error.clone());
        let refused = account_sends_text(&messaging(whatsapp)).await.unwrap_err();
        assert_eq!(refused, MessageCommandError::Engine(failure), "{error:?}");
        assert_eq!(refused.to_string(), expected, "{error:?}");
        assert!(!refused.to_string().contains("engine:7000"));
    }
}

/// An engine that never answers.
struct SilentEngine;

/// Writes `SilentEngine`'s `WhatsAppSender` impl: every listed command waits forever.
macro_rules! commands_that_never_answer {
    ($($command:ident($input:ty) -> $output:ty;)+) => {
        #[async_trait]
        impl WhatsAppSender for SilentEngine {
            $(
                async fn $command(&self, _: &InstanceId, _: $input) -> Result<$output, SendError> {
                    std::future::pending().await
                }
            )+
        }
    };
}

commands_that_never_answer! {
    send_text(SendText) -> EngineReceipt;
    send_media(SendMedia) -> EngineReceipt;
    send_reaction(SendReaction) -> EngineReceipt;
    edit_message(EditMessage) -> EngineReceipt;
    delete_message(DeleteMessage) -> EngineReceipt;
    mark_read(MarkRead) -> EngineReceipt;
    send_presence(SendPresence) -> EngineReceipt;
    set_chat_labels(SetChatLabels) -> EngineReceipt;
    instance_action(InstanceAction) -> EngineReceipt;
    download_media(&str) -> MediaDownload;
}

#[tokio::test(start_paused = true)]
async fn an_engine_silent_past_the_budget_is_not_connected() {
    let settings = MessagingSettings {
        engine_budget: Duration::from_secs(35),
        ..MessagingSettings::default()
    };
    let started = tokio::time::Instant::now();
    let silent = messaging_with(SilentEngine, MockMediaFetcher::new(), settings);
    let refused = account_sends_text(&silent).await.unwrap_err();
    assert_eq!(refused.to_string(), "Instance is not connected to WhatsApp");
    assert_eq!(started.elapsed(), Duration::from_secs(35));
}

// ------------------------------------------------------------------------ downloads

#[tokio::test]
async fn downloads_need_a_message_id_and_report_gone_media() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp
        .expect_download_media()
        .with(eq(InstanceId::new("ins_suporte")), eq("3EB0GONE"))
        .returning(|_, _| Err(SendError::MediaGone));
    let messaging = messaging(whatsapp);
    let refused = messaging
        .download_media(&account_caller(), "suporte", None)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "invalid query string: messageId: is required: the WhatsApp id of the message"
    );
    let refused = messaging
        .download_media(&account_caller(), "suporte", Some("3EB0GONE"))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        MediaDownloadError::Engine(EngineFailure::MediaGone)
    );
    assert_eq!(refused.to_string(), "media no longer available");
}

#[tokio::test]
async fn a_download_without_a_type_is_sniffed() {
    let mut whatsapp = MockWhatsAppSender::new();
    whatsapp.expect_download_media().returning(|_, id| {
        Ok(MediaDownload {
            message_id: id.to_owned(),
            base64: MediaData::new(STANDARD.encode(PNG)),
            mimetype: None,
            file_name: Some("foto.png".into()),
        })
    });
    let downloaded = messaging(whatsapp)
        .download_media(&MessagingCaller::Bridge, "ins_suporte", Some("3EB0AA"))
        .await
        .unwrap();
    assert_eq!(downloaded.message_id, "3EB0AA");
    assert_eq!(downloaded.mimetype, "image/png");
    assert_eq!(downloaded.base64.as_str(), STANDARD.encode(PNG));
    assert_eq!(downloaded.file_name.as_deref(), Some("foto.png"));
}
