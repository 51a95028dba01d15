//! Who takes part in scripted conversations: a [`Contact`] (a WhatsApp user known by its
//! phone number, its hidden `@lid` id, or both), a [`Group`] with its participants, and
//! [`ChatRef`], the chat a scripted message is exchanged in (a private chat with a
//! contact, or a group, optionally naming the participant who writes).
//!
//! Nothing here validates strictly: a test may want odd ids on purpose. A phone is kept
//! as the digits it contains, so `+55 (11) 91234-5678`, `5511912345678` and
//! `5511912345678@s.whatsapp.net` are the same contact.

use ryze_domain::PhoneNumber;
use ryze_ports::whatsapp_events::{Chat, ChatType, ContactCard, ContactNumber, Participant};

use crate::ids;

const PHONE_SERVER: &str = "@s.whatsapp.net";
const LID_SERVER: &str = "@lid";
const GROUP_SERVER: &str = "@g.us";

/// The user part of a JID (before `@` and any `:device`), or the text itself.
fn user_part(text: &str) -> &str {
    let user = text.split('@').next().unwrap_or(text);
    user.split(':').next().unwrap_or(user)
}

/// The digits of a phone number as written (`+55 (11) 91234-5678`) or of a phone JID.
fn phone_digits(phone: &str) -> String {
    user_part(phone.trim())
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// `<user>@lid` from `1234`, `1234@lid` or `1234:5@lid`.
fn lid_jid(lid: &str) -> String {
    format!("{}{LID_SERVER}", user_part(lid.trim()))
}

/// A Brazilian number the way people write it (`+55 11 91234-5678`), others as `+digits`.
fn written_phone(digits: &str) -> String {
    match (digits.strip_prefix("55"), digits.len()) {
        (Some(national), 12 | 13) => {
            let (area, local) = national.split_at(2);
            let (first, last) = local.split_at(local.len() - 4);
            format!("+55 {area} {first}-{last}")
        }
        _ => format!("+{digits}"),
    }
}

/// A WhatsApp user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    name: Option<String>,
    phone: Option<String>,
    lid: Option<String>,
}

impl Contact {
    /// A user known by phone number (as written, or a phone JID) with a push name. The
    /// number is used as given: a Brazilian mobile may be written with or without the
    /// 9th digit, as WhatsApp itself has both kinds of accounts.
    pub fn new(name: impl Into<String>, phone: &str) -> Self {
        Self {
            name: Some(name.into()),
            phone: Some(phone_digits(phone)),
            lid: None,
        }
    }

    /// A user known only by its hidden id (`1234…` or `1234…@lid`).
    pub fn hidden(name: impl Into<String>, lid: &str) -> Self {
        Self {
            name: Some(name.into()),
            phone: None,
            lid: Some(lid_jid(lid)),
        }
    }

    /// Adds the hidden id (`1234…` or `1234…@lid`); events then carry both.
    pub fn with_lid(mut self, lid: &str) -> Self {
        self.lid = Some(lid_jid(lid));
        self
    }

    /// Forgets the phone number (events carry the `@lid` only).
    pub fn without_phone(mut self) -> Self {
        self.phone = None;
        self
    }

    /// Forgets the push name (events carry no `name`).
    pub fn without_name(mut self) -> Self {
        self.name = None;
        self
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The same user as an account registered before Brazil's 9th digit: a Brazilian
    /// mobile's JID becomes its 8-digit form (`5511987654321` → `551187654321`). Other numbers are unchanged.
    pub fn with_legacy_brazilian_number(mut self) -> Self {
        self.phone = self.phone.map(|digits| {
            PhoneNumber::parse(&digits)
                .ok()
                .and_then(|phone| phone.equivalent_forms().get(1).cloned())
                .map_or(digits, |legacy| legacy.as_str().to_owned())
        });
        self
    }

    /// A Brazilian mobile in its 9-digit form; other numbers unchanged.
    pub fn with_ninth_digit(mut self) -> Self {
        self.phone = self.phone.map(|digits| {
            PhoneNumber::parse(&digits)
                .map_or(digits, |phone| phone.canonical().as_str().to_owned())
        });
        self
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The phone number's digits, country code first.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }

    /// `<digits>@s.whatsapp.net`.
    pub fn jid(&self) -> Option<String> {
        self.phone
            .as_ref()
            .map(|digits| format!("{digits}{PHONE_SERVER}"))
    }

    /// `<digits>@lid`.
    pub fn lid(&self) -> Option<&str> {
        self.lid.as_deref()
    }

    /// What a command's `number` would say for this user: the phone digits, or the
    /// `@lid` JID for a user known only by it.
    pub fn number(&self) -> String {
        self.phone
            .clone()
            .or_else(|| self.lid.clone())
            .unwrap_or_default()
    }

    /// As `sender` (or a quoted message's sender, a receipt's participant).
    pub fn participant(&self) -> Participant {
        Participant {
            jid: self.jid(),
            lid: self.lid.clone(),
            name: self.name.clone(),
        }
    }

    /// The private chat with this user.
    pub fn chat(&self) -> Chat {
        Chat {
            jid: self.jid(),
            lid: self.lid.clone(),
            name: self.name.clone(),
            kind: ChatType::Private,
        }
    }

    /// This user as a contact card (with a vCard, as phones share them).
    pub fn card(&self) -> ContactCard {
        let display_name = self
            .name
            .clone()
            .or_else(|| self.phone.as_deref().map(written_phone))
            .unwrap_or_else(|| "Unknown".to_owned());
        let numbers: Vec<ContactNumber> = self
            .phone
            .iter()
            .map(|digits| ContactNumber {
                number: written_phone(digits),
                wa_id: Some(digits.clone()),
                label: Some("CELL".to_owned()),
            })
            .collect();
        let mut vcard = format!("BEGIN:VCARD\nVERSION:3.0\nFN:{display_name}\n");
        for number in &numbers {
            let wa_id = number.wa_id.as_deref().unwrap_or_default();
            vcard.push_str(&format!("TEL;type=CELL;waid={wa_id}:{}\n", number.number));
        }
        vcard.push_str("END:VCARD");
        ContactCard {
            display_name,
            numbers,
            vcard: Some(vcard),
        }
    }
}

/// A WhatsApp group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    jid: String,
    subject: Option<String>,
    participants: Vec<Contact>,
}

impl Group {
    /// A group by id (`120363…` or `120363…@g.us`), subject and participants.
    pub fn new(
        id: &str,
        subject: impl Into<String>,
        participants: impl IntoIterator<Item = Contact>,
    ) -> Self {
        Self {
            jid: format!("{}{GROUP_SERVER}", user_part(id.trim())),
            subject: Some(subject.into()),
            participants: participants.into_iter().collect(),
        }
    }

    /// A group with a fresh random id.
    pub fn random(
        subject: impl Into<String>,
        participants: impl IntoIterator<Item = Contact>,
    ) -> Self {
        Self::new(&ids::group_id(), subject, participants)
    }

    /// Events leave the subject out (the engine did not know it).
    pub fn without_subject(mut self) -> Self {
        self.subject = None;
        self
    }

    /// `<id>@g.us`.
    pub fn jid(&self) -> &str {
        &self.jid
    }

    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    pub fn participants(&self) -> &[Contact] {
        &self.participants
    }

    /// The group as `chat`.
    pub fn chat(&self) -> Chat {
        Chat {
            jid: Some(self.jid.clone()),
            lid: None,
            name: self.subject.clone(),
            kind: ChatType::Group,
        }
    }

    /// The group, with `author` writing (the `sender` of incoming messages).
    pub fn by(&self, author: &Contact) -> ChatRef {
        ChatRef::Group {
            group: self.clone(),
            author: Some(author.clone()),
        }
    }
}

/// Where a scripted message is exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRef {
    /// A private chat with a contact (who writes incoming messages).
    Private(Contact),
    /// A group; incoming messages are written by `author`, or by the group's first
    /// participant when no author is named.
    Group {
        group: Group,
        author: Option<Contact>,
    },
}

impl ChatRef {
    /// As `chat`.
    pub fn chat(&self) -> Chat {
        match self {
            Self::Private(contact) => contact.chat(),
            Self::Group { group, .. } => group.chat(),
        }
    }

    /// Who writes incoming messages here, as `sender`.
    pub fn author(&self) -> Participant {
        match self {
            Self::Private(contact) => contact.participant(),
            Self::Group { group, author } => author
                .as_ref()
                .or_else(|| group.participants.first())
                .map(Contact::participant)
                .unwrap_or_default(),
        }
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        matches!(self, Self::Group { .. })
    }

    /// What a command's `number` would say for this chat.
    pub fn number(&self) -> String {
        match self {
            Self::Private(contact) => contact.number(),
            Self::Group { group, .. } => group.jid.clone(),
        }
    }
}

impl From<&Contact> for ChatRef {
    fn from(contact: &Contact) -> Self {
        Self::Private(contact.clone())
    }
}

impl From<Contact> for ChatRef {
    fn from(contact: Contact) -> Self {
        Self::Private(contact)
    }
}

impl From<&Group> for ChatRef {
    fn from(group: &Group) -> Self {
        Self::Group {
            group: group.clone(),
            author: None,
        }
    }
}

impl From<Group> for ChatRef {
    fn from(group: Group) -> Self {
        Self::Group {
            group,
            author: None,
        }
    }
}

impl From<&ChatRef> for ChatRef {
    fn from(chat: &ChatRef) -> Self {
        chat.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_kept_as_its_digits_whatever_the_writing() {
        for written in [
            "+55 (11) 91234-5678",
            "5511912345678",
            "5511912345678@s.whatsapp.net",
            "5511912345678:12@s.whatsapp.net",
        ] {
            let maria = Contact::new("Maria", written);
            assert_eq!(maria.phone(), Some("5511912345678"), "{written}");
            assert_eq!(maria.jid().as_deref(), Some("5511912345678@s.whatsapp.net"));
        }
    }

    #[test]
    fn brazilian_mobiles_switch_between_their_two_forms() {
        let modern = Contact::new("Maria", "5511987654321");
        let legacy = modern.clone().with_legacy_brazilian_number();
        assert_eq!(legacy.phone(), Some("551187654321"));
        assert_eq!(legacy.jid().as_deref(), Some("551187654321@s.whatsapp.net"));
        assert_eq!(legacy.with_ninth_digit(), modern);
        let landline = Contact::new("Loja", "551133334444").with_legacy_brazilian_number();
        assert_eq!(landline.phone(), Some("551133334444"));
        let portugal = Contact::new("Rui", "351912345678").with_ninth_digit();
        assert_eq!(portugal.phone(), Some("351912345678"));
    }

    #[test]
    fn hidden_ids_get_their_server_and_hidden_contacts_have_no_phone() {
        let maria = Contact::new("Maria", "5511912345678").with_lid("123456789012345");
        assert_eq!(maria.lid(), Some("123456789012345@lid"));
        let hidden = Contact::hidden("Ana", "555@lid");
        assert_eq!(hidden.jid(), None);
        assert_eq!(hidden.number(), "555@lid");
        assert_eq!(
            hidden.participant(),
            Participant {
                jid: None,
                lid: Some("555@lid".into()),
                name: Some("Ana".into())
            }
        );
    }

    #[test]
    fn a_card_names_the_whatsapp_user_and_carries_a_vcard() {
        let card = Contact::new("João Souza", "5511977776666").card();
        assert_eq!(card.display_name, "João Souza");
        assert_eq!(card.numbers[0].number, "+55 11 97777-6666");
        assert_eq!(card.numbers[0].wa_id.as_deref(), Some("5511977776666"));
        let vcard = card.vcard.unwrap();
        assert!(vcard.contains("FN:João Souza\n"), "{vcard}");
        assert!(
            vcard.contains("waid=5511977776666:+55 11 97777-6666"),
            "{vcard}"
        );
    }

    #[test]
    fn group_messages_are_written_by_the_named_participant_or_the_first() {
        let carlos = Contact::new("Carlos", "5521999990000");
        let bia = Contact::new("Bia", "5521988887777");
        let group = Group::new(
            "120363025246125486",
            "Clientes VIP",
            [carlos.clone(), bia.clone()],
        );
        assert_eq!(group.jid(), "120363025246125486@g.us");
        assert_eq!(group.by(&bia).author(), bia.participant());
        assert_eq!(ChatRef::from(&group).author(), carlos.participant());
        assert_eq!(ChatRef::from(&group).number(), "120363025246125486@g.us");
        assert_eq!(group.chat().kind, ChatType::Group);
    }
}
