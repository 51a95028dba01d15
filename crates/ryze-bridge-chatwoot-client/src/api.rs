//! The [`ChatwootApi`] port over HTTP: each call names its path, builds its body and says
//! how to read the answer; [`ChatwootHttpClient`] does the rest.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use ryze_ports::{
    Attachment, ChatwootApi, ChatwootError, ChatwootTarget, Contact, ContactId, ContactInbox,
    ContactLookup, ContactUpdate, Conversation, ConversationDisplayId, ConversationStatus,
    CreatedContact, Inbox, InboxId, Message, MessageDeliveryStatus, MessageId, NewContact,
    NewConversation, NewMessage, Profile,
};

use crate::client::{ChatwootHttpClient, RequestBody};
use crate::failure::{invalid_request, token_scrubber, Endpoint};
use crate::wire::{
    convert_all, AccountLabelAnswer, ApiChannelBody, ContactAnswer, ContactInboxAnswer,
    ContactInboxBody, ContactUpdateBody, ContentAttributesBody, ConversationAnswer,
    CreatedContactAnswer, FilterBody, InboxAnswer, InboxBody, LabelsBody, MessageAnswer,
    MessageStatusBody, NewContactBody, NewConversationBody, NewLabelBody, NewMessageBody, Payload,
    ProfileAnswer, ToggleStatusBody, ToggledStatusAnswer, TypingBody,
};

/// The field name of each file in a message's multipart body.
const ATTACHMENT_FIELD: &str = "attachments[]";

impl ChatwootHttpClient {
    /// The multipart body of a message with files: the message's fields as text parts,
    /// `content_attributes` as JSON text (`Messages::MessageBuilder#content_attributes`
    /// parses a string), and one `attachments[]` part per file.
    fn message_form(
        &self,
        target: &ChatwootTarget,
        endpoint: &Endpoint,
        message: &NewMessage,
        attachments: Vec<Attachment>,
    ) -> Result<Form, ChatwootError> {
        let invalid = |problem: &dyn std::fmt::Display| {
            invalid_request(
                &token_scrubber(target.api_token.expose()),
                endpoint,
                problem,
            )
        };
        let mut form = Form::new()
            .text("content", message.content.clone())
            .text("message_type", message.direction.as_str());
        // Rails sees any string as a value: send `private` only when it is true.
        if message.private {
            form = form.text("private", "true");
        }
        if let Some(source_id) = &message.source_id {
            form = form.text("source_id", source_id.clone());
        }
        if let Some(attributes) = ContentAttributesBody::from_port(&message.content_attributes) {
            let json = serde_json::to_string(&attributes).map_err(|error| invalid(&error))?;
            form = form.text("content_attributes", json);
        }
        for attachment in attachments {
            let part = Part::bytes(attachment.bytes)
                .file_name(attachment.file_name)
                .mime_str(&attachment.mime_type)
                .map_err(|_| {
                    invalid(&format_args!(
                        "the attachment's mime type {:?} is not a valid media type",
                        attachment.mime_type
                    ))
                })?;
            form = form.part(ATTACHMENT_FIELD, part);
        }
        Ok(form)
    }

    fn message_body<'a>(message: &'a NewMessage) -> NewMessageBody<'a> {
        NewMessageBody {
            content: &message.content,
            message_type: message.direction.as_str(),
            private: message.private,
            source_id: message.source_id.as_deref(),
            content_attributes: ContentAttributesBody::from_port(&message.content_attributes),
        }
    }
}

impl ChatwootHttpClient {
    /// `GET` of an account path (no query), its JSON answer turned by `convert`.
    async fn get_json<Wire, Out>(
        &self,
        target: &ChatwootTarget,
        segments: &[&str],
        convert: impl FnOnce(Wire) -> Result<Out, String>,
    ) -> Result<Out, ChatwootError>
    where
        Wire: serde::de::DeserializeOwned,
    {
        let endpoint = self.account_endpoint(target, Method::GET, segments, &[])?;
        self.send_json(target, &endpoint, RequestBody::Empty, convert)
            .await
    }
}

#[async_trait]
impl ChatwootApi for ChatwootHttpClient {
    async fn profile(&self, target: &ChatwootTarget) -> Result<Profile, ChatwootError> {
        let endpoint = Self::endpoint(target, Method::GET, &["profile"], &[])?;
        self.send_json(
            target,
            &endpoint,
            RequestBody::Empty,
            |answer: ProfileAnswer| Ok(answer.into_port()),
        )
        .await
    }

    async fn list_inboxes(&self, target: &ChatwootTarget) -> Result<Vec<Inbox>, ChatwootError> {
        self.get_json(target, &["inboxes"], |answer: Payload<Vec<InboxAnswer>>| {
            Ok(answer.into_each(InboxAnswer::into_port))
        })
        .await
    }

    async fn get_inbox(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
    ) -> Result<Inbox, ChatwootError> {
        let id = inbox_id.to_string();
        self.get_json(target, &["inboxes", &id], |answer: InboxAnswer| {
            Ok(answer.into_port())
        })
        .await
    }

    async fn create_api_inbox(
        &self,
        target: &ChatwootTarget,
        name: &str,
        webhook_url: &str,
    ) -> Result<Inbox, ChatwootError> {
        let endpoint = self.account_endpoint(target, Method::POST, &["inboxes"], &[])?;
        let body = InboxBody {
            name: Some(name),
            channel: ApiChannelBody {
                channel_type: Some("api"),
                webhook_url,
            },
        };
        self.send_json_body(target, &endpoint, &body, |answer: InboxAnswer| {
            Ok(answer.into_port())
        })
        .await
    }

    async fn update_inbox_webhook(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
        name: Option<String>,
        webhook_url: &str,
    ) -> Result<Inbox, ChatwootError> {
        let id = inbox_id.to_string();
        let endpoint = self.account_endpoint(target, Method::PATCH, &["inboxes", &id], &[])?;
        let body = InboxBody {
            name: name.as_deref(),
            channel: ApiChannelBody {
                channel_type: None,
                webhook_url,
            },
        };
        self.send_json_body(target, &endpoint, &body, |answer: InboxAnswer| {
            Ok(answer.into_port())
        })
        .await
    }

    async fn delete_inbox(
        &self,
        target: &ChatwootTarget,
        inbox_id: InboxId,
    ) -> Result<(), ChatwootError> {
        let id = inbox_id.to_string();
        let endpoint = self.account_endpoint(target, Method::DELETE, &["inboxes", &id], &[])?;
        self.send_expecting_success(target, &endpoint, RequestBody::Empty)
            .await
    }

    async fn search_contacts(
        &self,
        target: &ChatwootTarget,
        query: &str,
    ) -> Result<Vec<Contact>, ChatwootError> {
        let endpoint = self.account_endpoint(
            target,
            Method::GET,
            &["contacts", "search"],
            &[("q", query)],
        )?;
        self.send_json(
            target,
            &endpoint,
            RequestBody::Empty,
            |answer: Payload<Vec<ContactAnswer>>| Ok(answer.into_each(ContactAnswer::into_port)),
        )
        .await
    }

    async fn filter_contacts_by_identifier_or_phone(
        &self,
        target: &ChatwootTarget,
        lookup: &ContactLookup,
    ) -> Result<Vec<Contact>, ChatwootError> {
        let filter = FilterBody::identifier_or_phone(
            lookup
                .identifier
                .as_deref()
                .filter(|value| !value.is_empty()),
            lookup
                .phone_number
                .as_deref()
                .filter(|value| !value.is_empty()),
        );
        if filter.payload.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint = self.account_endpoint(target, Method::POST, &["contacts", "filter"], &[])?;
        self.send_json_body(
            target,
            &endpoint,
            &filter,
            |answer: Payload<Vec<ContactAnswer>>| Ok(answer.into_each(ContactAnswer::into_port)),
        )
        .await
    }

    async fn create_contact(
        &self,
        target: &ChatwootTarget,
        contact: &NewContact,
    ) -> Result<CreatedContact, ChatwootError> {
        let endpoint = self.account_endpoint(target, Method::POST, &["contacts"], &[])?;
        let body = NewContactBody {
            inbox_id: contact.inbox_id.get(),
            name: &contact.name,
            phone_number: contact.phone_number.as_deref(),
            identifier: contact.identifier.as_deref(),
            source_id: contact.source_id.as_deref(),
            custom_attributes: &contact.custom_attributes,
        };
        self.send_json_body(
            target,
            &endpoint,
            &body,
            |answer: Payload<CreatedContactAnswer>| Ok(answer.payload.into_port(contact.inbox_id)),
        )
        .await
    }

    async fn update_contact(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
        update: &ContactUpdate,
    ) -> Result<Contact, ChatwootError> {
        let id = contact_id.to_string();
        let endpoint = self.account_endpoint(target, Method::PUT, &["contacts", &id], &[])?;
        let body = ContactUpdateBody {
            name: update.name.as_deref(),
            phone_number: update.phone_number.as_deref(),
            identifier: update.identifier.as_deref(),
            custom_attributes: &update.custom_attributes,
        };
        self.send_json_body(
            target,
            &endpoint,
            &body,
            |answer: Payload<ContactAnswer>| Ok(answer.payload.into_port()),
        )
        .await
    }

    async fn create_contact_inbox(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
        inbox_id: InboxId,
        source_id: Option<String>,
    ) -> Result<ContactInbox, ChatwootError> {
        let id = contact_id.to_string();
        let endpoint = self.account_endpoint(
            target,
            Method::POST,
            &["contacts", &id, "contact_inboxes"],
            &[],
        )?;
        let body = ContactInboxBody {
            inbox_id: inbox_id.get(),
            source_id: source_id.as_deref(),
        };
        self.send_json_body(
            target,
            &endpoint,
            &body,
            ContactInboxAnswer::into_required_port,
        )
        .await
    }

    async fn create_conversation(
        &self,
        target: &ChatwootTarget,
        conversation: &NewConversation,
    ) -> Result<Conversation, ChatwootError> {
        let endpoint = self.account_endpoint(target, Method::POST, &["conversations"], &[])?;
        let body = NewConversationBody {
            source_id: &conversation.source_id,
            inbox_id: conversation.inbox_id.get(),
            contact_id: conversation.contact_id.get(),
            status: conversation.status.as_str(),
        };
        self.send_json_body(target, &endpoint, &body, ConversationAnswer::into_port)
            .await
    }

    async fn get_conversation(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Conversation, ChatwootError> {
        let id = display_id.to_string();
        self.get_json(
            target,
            &["conversations", &id],
            ConversationAnswer::into_port,
        )
        .await
    }

    async fn list_contact_conversations(
        &self,
        target: &ChatwootTarget,
        contact_id: ContactId,
    ) -> Result<Vec<Conversation>, ChatwootError> {
        let id = contact_id.to_string();
        self.get_json(
            target,
            &["contacts", &id, "conversations"],
            |answer: Payload<Vec<ConversationAnswer>>| {
                convert_all(answer.payload, ConversationAnswer::into_port)
            },
        )
        .await
    }

    async fn list_messages(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Vec<Message>, ChatwootError> {
        let id = display_id.to_string();
        self.get_json(
            target,
            &["conversations", &id, "messages"],
            |answer: Payload<Vec<MessageAnswer>>| {
                Ok(answer
                    .payload
                    .into_iter()
                    .map(MessageAnswer::into_port)
                    .collect())
            },
        )
        .await
    }

    async fn toggle_conversation_status(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        status: ConversationStatus,
    ) -> Result<ConversationStatus, ChatwootError> {
        let id = display_id.to_string();
        let endpoint = self.account_endpoint(
            target,
            Method::POST,
            &["conversations", &id, "toggle_status"],
            &[],
        )?;
        self.send_json_body(
            target,
            &endpoint,
            &ToggleStatusBody {
                status: status.as_str(),
            },
            |answer: Payload<ToggledStatusAnswer>| answer.payload.into_port(),
        )
        .await
    }

    async fn create_message(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message: &NewMessage,
    ) -> Result<Message, ChatwootError> {
        let id = display_id.to_string();
        let endpoint = self.account_endpoint(
            target,
            Method::POST,
            &["conversations", &id, "messages"],
            &[],
        )?;
        self.send_json_body(
            target,
            &endpoint,
            &Self::message_body(message),
            |answer: MessageAnswer| Ok(answer.into_port()),
        )
        .await
    }

    async fn create_message_with_attachments(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message: &NewMessage,
        attachments: Vec<Attachment>,
    ) -> Result<Message, ChatwootError> {
        let id = display_id.to_string();
        let endpoint = self.account_endpoint(
            target,
            Method::POST,
            &["conversations", &id, "messages"],
            &[],
        )?;
        let form = self.message_form(target, &endpoint, message, attachments)?;
        self.send_json(
            target,
            &endpoint,
            RequestBody::Multipart(form),
            |answer: MessageAnswer| Ok(answer.into_port()),
        )
        .await
    }

    async fn delete_message(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message_id: MessageId,
    ) -> Result<(), ChatwootError> {
        let (conversation, message) = (display_id.to_string(), message_id.to_string());
        let endpoint = self.account_endpoint(
            target,
            Method::DELETE,
            &["conversations", &conversation, "messages", &message],
            &[],
        )?;
        self.send_expecting_success(target, &endpoint, RequestBody::Empty)
            .await
    }

    async fn update_message_status(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        message_id: MessageId,
        status: &MessageDeliveryStatus,
    ) -> Result<(), ChatwootError> {
        let (conversation, message) = (display_id.to_string(), message_id.to_string());
        let endpoint = self.account_endpoint(
            target,
            Method::PATCH,
            &["conversations", &conversation, "messages", &message],
            &[],
        )?;
        let external_error = match status {
            MessageDeliveryStatus::Failed { external_error } => external_error.as_deref(),
            _ => None,
        };
        let body = MessageStatusBody {
            status: status.as_str(),
            external_error,
        };
        let body = self.json_body(target, &endpoint, &body)?;
        self.send_expecting_success(target, &endpoint, body).await
    }

    async fn conversation_labels(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
    ) -> Result<Vec<String>, ChatwootError> {
        let id = display_id.to_string();
        self.get_json(
            target,
            &["conversations", &id, "labels"],
            |answer: Payload<Vec<String>>| Ok(answer.payload),
        )
        .await
    }

    async fn set_conversation_labels(
        &self,
        target: &ChatwootTarget,
        display_id: ConversationDisplayId,
        labels: &[String],
    ) -> Result<Vec<String>, ChatwootError> {
        let id = display_id.to_string();
        let endpoint =
            self.account_endpoint(target, Method::POST, &["conversations", &id, "labels"], &[])?;
        self.send_json_body(
            target,
            &endpoint,
            &LabelsBody { labels },
            |answer: Payload<Vec<String>>| Ok(answer.payload),
        )
        .await
    }

    async fn list_account_labels(
        &self,
        target: &ChatwootTarget,
    ) -> Result<Vec<String>, ChatwootError> {
        self.get_json(
            target,
            &["labels"],
            |answer: Payload<Vec<AccountLabelAnswer>>| Ok(answer.into_each(|label| label.title)),
        )
        .await
    }

    async fn create_account_label(
        &self,
        target: &ChatwootTarget,
        title: &str,
    ) -> Result<(), ChatwootError> {
        let endpoint = self.account_endpoint(target, Method::POST, &["labels"], &[])?;
        let body = NewLabelBody {
            title,
            show_on_sidebar: true,
        };
        let body = self.json_body(target, &endpoint, &body)?;
        self.send_expecting_success(target, &endpoint, body).await
    }

    async fn toggle_contact_typing(
        &self,
        target: &ChatwootTarget,
        inbox_identifier: &str,
        contact_source_id: &str,
        display_id: ConversationDisplayId,
        on: bool,
    ) -> Result<(), ChatwootError> {
        let id = display_id.to_string();
        let endpoint = Self::public_endpoint(
            target,
            Method::POST,
            &[
                "inboxes",
                inbox_identifier,
                "contacts",
                contact_source_id,
                "conversations",
                &id,
                "toggle_typing",
            ],
        )?;
        let body = TypingBody {
            typing_status: if on { "on" } else { "off" },
        };
        let body = self.json_body(target, &endpoint, &body)?;
        self.send_expecting_success(target, &endpoint, body).await
    }
}
