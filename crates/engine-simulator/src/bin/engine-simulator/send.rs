//! `engine-simulator send`: builds one event with the scripting API from command-line
//! flags and publishes it into the API (`POST /engine/v1/events`), printing the API's
//! answer. Media take `--file PATH`, or a small valid sample file of the kind.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use engine_simulator::script::{ChatRef, Contact, EventScript, Group, MessageBuilder, MessageSpec};
use engine_simulator::{EventPublisher, MediaFile, PublisherSettings, RetryPolicy};
use ryze_ports::whatsapp_events::{ConnectionState, EventEnvelope, EventPayload, MediaKind};
use url::Url;

use crate::CliError;

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The API's base URL (events go to `<api>/engine/v1/events`).
    #[arg(long, env = "ENGINE_SIMULATOR_API")]
    api: Url,
    /// The shared secret (`Authorization: Bearer …`).
    #[arg(long, env = "ENGINE_TOKEN", hide_env_values = true)]
    engine_token: String,
    /// The instance: its id (`ins_…`, as `GET /api/instance/list` shows it), or its name
    /// with `--token`.
    #[arg(long)]
    instance: String,
    /// An API token (the TokenAccount or the instance's TokenInstance) to look the
    /// instance's id up by its name (`GET /api/instance/list?instanceName=…`).
    #[arg(long, env = "RYZE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The instance's own phone number (sender of `--outgoing` messages).
    #[arg(long, default_value = "5511988887777")]
    own_phone: String,
    /// The instance's own push name.
    #[arg(long, default_value = "Loja Simulada")]
    own_name: String,
    /// Keep retrying (429, 5xx, network errors) for this many seconds.
    #[arg(long, default_value_t = 60)]
    retry_for: u64,
    /// Print the event's JSON before sending it.
    #[arg(long)]
    print_event: bool,
    #[command(subcommand)]
    event: EventKind,
}

/// Who writes and where.
#[derive(Debug, Args)]
struct ChatArgs {
    /// The contact's phone number (with or without Brazil's 9th digit, as WhatsApp
    /// knows the account).
    #[arg(long)]
    from: Option<String>,
    /// The contact's hidden id (`1234…` or `1234…@lid`).
    #[arg(long)]
    lid: Option<String>,
    /// The contact's push name.
    #[arg(long)]
    name: Option<String>,
    /// A group id (`120363…@g.us`): the message is in that group, written by the contact.
    #[arg(long)]
    group: Option<String>,
    /// The group's subject.
    #[arg(long)]
    group_name: Option<String>,
    /// Sent by the instance's own account (typed on the phone) to the chat.
    #[arg(long)]
    outgoing: bool,
    /// The WhatsApp message id (generated otherwise).
    #[arg(long)]
    id: Option<String>,
    /// Unix seconds (now otherwise).
    #[arg(long)]
    at: Option<i64>,
    /// The id of the message this one replies to.
    #[arg(long)]
    reply_to: Option<String>,
}

/// A media message's file and details.
#[derive(Debug, Args)]
struct MediaArgs {
    #[command(flatten)]
    chat: ChatArgs,
    /// The file to send (a small sample of the kind when left out).
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    caption: Option<String>,
    #[arg(long)]
    file_name: Option<String>,
    /// Overrides the mime type found from the file.
    #[arg(long)]
    mimetype: Option<String>,
    /// Duration (audio, video).
    #[arg(long)]
    seconds: Option<u32>,
    /// Leave the bytes out of the event (fetched from the engine; only works against a
    /// running `serve` that knows them, so mostly to test the API's error path).
    #[arg(long)]
    not_inline: bool,
}

#[derive(Debug, Subcommand)]
enum EventKind {
    /// A text message (WhatsApp formatting kept as is).
    Text {
        #[command(flatten)]
        chat: ChatArgs,
        text: String,
    },
    Image(MediaArgs),
    Video(MediaArgs),
    /// An audio file (`type: audio`).
    Audio(MediaArgs),
    /// A voice note (`type: ptt`).
    Voice(MediaArgs),
    /// A round video note (`type: ptv`).
    VideoNote(MediaArgs),
    Document(MediaArgs),
    Sticker(MediaArgs),
    /// A shared location.
    Location {
        #[command(flatten)]
        chat: ChatArgs,
        #[arg(long, allow_hyphen_values = true)]
        latitude: f64,
        #[arg(long, allow_hyphen_values = true)]
        longitude: f64,
        #[arg(long)]
        place_name: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        live: bool,
    },
    /// One or more contact cards.
    Contact {
        #[command(flatten)]
        chat: ChatArgs,
        /// `Name=PHONE`, repeatable.
        #[arg(long = "card", required = true, value_name = "NAME=PHONE")]
        cards: Vec<String>,
    },
    /// A reaction to a message (`""` removes it).
    Reaction {
        #[command(flatten)]
        chat: ChatArgs,
        #[arg(long)]
        target: String,
        emoji: String,
    },
    /// An edit of a message.
    Edit {
        #[command(flatten)]
        chat: ChatArgs,
        #[arg(long)]
        target: String,
        text: String,
    },
    /// A deletion for everyone.
    Revoke {
        #[command(flatten)]
        chat: ChatArgs,
        #[arg(long)]
        target: String,
    },
    /// A receipt (`message.status`).
    Receipt {
        #[command(flatten)]
        chat: ChatArgs,
        /// `delivered`, `read`, `played`, `read_self`, …
        #[arg(long, default_value = "read")]
        status: String,
        /// Message ids (repeatable).
        #[arg(long = "message", required = true, value_name = "MESSAGE_ID")]
        messages: Vec<String>,
    },
    /// A connection change (`instance.state`).
    State {
        /// `connected`, `connecting` or `disconnected`.
        state: String,
        /// `pairing`, `network`, `logged_out`, …
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        at: Option<i64>,
    },
}

impl ChatArgs {
    fn contact(&self) -> Option<Contact> {
        let contact = match (&self.from, &self.lid) {
            (Some(phone), lid) => {
                let contact = Contact::new(String::new(), phone);
                match lid {
                    Some(lid) => contact.with_lid(lid),
                    None => contact,
                }
            }
            (None, Some(lid)) => Contact::hidden(String::new(), lid),
            (None, None) => return None,
        };
        Some(match &self.name {
            Some(name) => contact.with_name(name.clone()),
            None => contact.without_name(),
        })
    }

    fn chat(&self) -> Result<ChatRef, CliError> {
        let contact = self.contact();
        match (&self.group, contact) {
            (Some(group_id), author) => {
                let group = Group::new(group_id, self.group_name.clone().unwrap_or_default(), []);
                let group = if self.group_name.is_some() {
                    group
                } else {
                    group.without_subject()
                };
                Ok(match author {
                    Some(author) => group.by(&author),
                    None => ChatRef::from(group),
                })
            }
            (None, Some(contact)) => Ok(ChatRef::from(contact)),
            (None, None) => {
                Err("say who the chat is with: --from PHONE and/or --lid ID, or --group ID".into())
            }
        }
    }

    fn apply<S: MessageSpec>(&self, mut builder: MessageBuilder<S>) -> MessageBuilder<S> {
        if let Some(id) = &self.id {
            builder = builder.id(id.clone());
        }
        if let Some(at) = self.at {
            builder = builder.at(at);
        }
        if self.outgoing {
            builder = builder.outgoing();
        }
        if let Some(quoted) = &self.reply_to {
            builder = builder.reply_to(quoted.clone());
        }
        builder
    }
}

fn media_event(
    script: &EventScript,
    kind: MediaKind,
    args: &MediaArgs,
) -> Result<EventEnvelope, CliError> {
    let mut file = match &args.file {
        Some(path) => MediaFile::from_path(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        None => MediaFile::sample_for(kind),
    };
    if let Some(mimetype) = &args.mimetype {
        file.mimetype = mimetype.clone();
    }
    let mut builder = args.chat.apply(script.media(args.chat.chat()?, kind, file));
    if let Some(caption) = &args.caption {
        builder = builder.caption(caption.clone());
    }
    if let Some(file_name) = &args.file_name {
        builder = builder.file_name(file_name.clone());
    }
    if let Some(seconds) = args.seconds {
        builder = builder.seconds(seconds);
    }
    if args.not_inline {
        builder = builder.without_inline_bytes();
    }
    Ok(builder.build())
}

fn card_of(spec: &str) -> Result<ryze_ports::whatsapp_events::ContactCard, CliError> {
    let (name, phone) = spec
        .split_once('=')
        .ok_or_else(|| format!("--card {spec:?}: write it as NAME=PHONE"))?;
    Ok(Contact::new(name.trim(), phone).card())
}

fn build_event(script: &EventScript, kind: &EventKind) -> Result<EventEnvelope, CliError> {
    Ok(match kind {
        EventKind::Text { chat, text } => {
            chat.apply(script.text(chat.chat()?, text.clone())).build()
        }
        EventKind::Image(args) => media_event(script, MediaKind::Image, args)?,
        EventKind::Video(args) => media_event(script, MediaKind::Video, args)?,
        EventKind::Audio(args) => media_event(script, MediaKind::Audio, args)?,
        EventKind::Voice(args) => media_event(script, MediaKind::Ptt, args)?,
        EventKind::VideoNote(args) => media_event(script, MediaKind::Ptv, args)?,
        EventKind::Document(args) => media_event(script, MediaKind::Document, args)?,
        EventKind::Sticker(args) => media_event(script, MediaKind::Sticker, args)?,
        EventKind::Location {
            chat,
            latitude,
            longitude,
            place_name,
            address,
            url,
            live,
        } => {
            let mut builder = chat.apply(script.location(chat.chat()?, *latitude, *longitude));
            if let Some(name) = place_name {
                builder = builder.name(name.clone());
            }
            if let Some(address) = address {
                builder = builder.address(address.clone());
            }
            if let Some(url) = url {
                builder = builder.url(url.clone());
            }
            if *live {
                builder = builder.live();
            }
            builder.build()
        }
        EventKind::Contact { chat, cards } => {
            let cards = cards
                .iter()
                .map(|spec| card_of(spec))
                .collect::<Result<Vec<_>, _>>()?;
            chat.apply(script.contact_cards(chat.chat()?, cards))
                .build()
        }
        EventKind::Reaction {
            chat,
            target,
            emoji,
        } => chat
            .apply(script.reaction(chat.chat()?, target.clone(), emoji.clone()))
            .build(),
        EventKind::Edit { chat, target, text } => chat
            .apply(script.edit(chat.chat()?, target.clone(), text.clone()))
            .build(),
        EventKind::Revoke { chat, target } => chat
            .apply(script.revoke(chat.chat()?, target.clone()))
            .build(),
        EventKind::Receipt {
            chat,
            status,
            messages,
        } => {
            let mut builder =
                script.receipt(chat.chat()?, status.as_str(), messages.iter().cloned());
            if let Some(at) = chat.at {
                builder = builder.at(at);
            }
            builder.build()
        }
        EventKind::State { state, reason, at } => {
            let mut builder = script.instance_state(ConnectionState::from(state.as_str()));
            if let Some(reason) = reason {
                builder = builder.reason(reason.clone());
            }
            if let Some(at) = at {
                builder = builder.at(*at);
            }
            builder.build()
        }
    })
}

/// `message.exchange 3A…`, `message.status`, …
fn describe(envelope: &EventEnvelope) -> String {
    match &envelope.payload {
        EventPayload::MessageExchange(exchange) => format!(
            "message.exchange {} ({})",
            exchange.message.id,
            exchange.message.type_name()
        ),
        other => other.event_name().to_owned(),
    }
}

/// The instance id `instance` names: itself when it is an id (`ins_…`), else the id of
/// the instance of that name the token sees.
async fn instance_id(api: &Url, instance: &str, token: Option<&str>) -> Result<String, CliError> {
    if instance.starts_with("ins_") {
        return Ok(instance.to_owned());
    }
    let Some(token) = token else {
        return Err(format!(
            "--instance {instance} is not an instance id (ins_…): give the id (`GET /api/instance/list` shows it), or add --token with the account's or the instance's token to look the name up"
        )
        .into());
    };
    let mut url = api.join("api/instance/list")?;
    url.query_pairs_mut().append_pair("instanceName", instance);
    let answer: serde_json::Value = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .get(url.clone())
        .header("token", token)
        .send()
        .await?
        .json()
        .await?;
    answer["data"]
        .as_array()
        .and_then(|instances| {
            instances
                .iter()
                .find(|item| item["name"] == instance)
                .and_then(|item| item["id"].as_str())
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("GET {url} does not list an instance named {instance}: {answer}").into()
        })
}

pub(crate) async fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let own_account = Contact::new(args.own_name.clone(), &args.own_phone);
    let instance = instance_id(&args.api, &args.instance, args.token.as_deref()).await?;
    let script = EventScript::new(instance).with_own_account(own_account);
    let envelope = build_event(&script, &args.event)?;
    if args.print_event {
        println!("{}", serde_json::to_string_pretty(&envelope)?);
    }
    let mut settings = PublisherSettings::new(args.api.clone(), args.engine_token.clone());
    settings.retry = RetryPolicy {
        give_up_after: Some(Duration::from_secs(args.retry_for)),
        ..RetryPolicy::contract()
    };
    let publisher = EventPublisher::new(settings)?;
    let answer = publisher.publish(&envelope).await?;
    println!(
        "{} -> {} {}",
        describe(&envelope),
        answer.status,
        answer.body.trim()
    );
    Ok(if answer.is_stored() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
