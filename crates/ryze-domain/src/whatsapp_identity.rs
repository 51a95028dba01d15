//! Who a WhatsApp id is: parsing the ids an event carries, and the identity keys that make
//! "one person is one Chatwoot contact, whatever id the event carries" true.
//!
//! Existing bridges create duplicate contacts because the same person arrives under
//! several ids: a phone JID (`5511999999999@s.whatsapp.net`), a hidden id
//! (`123456789012345@lid`), the phone JID of a device (`5511999999999:12@s.whatsapp.net`),
//! and, in Brazil, the phone number with or without the 9th digit. This module is the pure
//! part of the cure: it turns whatever the event carries into every key that names the
//! person, so the relay can look a contact up by any known key and record all of them.
//!
//! Decisions:
//! - [`WhatsAppJid::parse`] accepts `<user>@s.whatsapp.net` (and the legacy `@c.us`, which
//!   some engines still emit) as a phone, `@lid`, `@g.us`, `@newsletter` and `@broadcast`
//!   (`status@broadcast` and numeric broadcast lists). Device (`:12`) and agent (`.0`,
//!   `_1`) parts are stripped: every device of a person is that person. A text without `@`
//!   is read as a phone number typed by a human: digits with an optional leading `+`,
//!   spaces, dashes, dots and parentheses. Servers are matched case-insensitively.
//! - A phone number is E.164 without the `+`: 7 to 15 digits, not starting with `0`
//!   (a leading `0`/`00` is a national or international dialling prefix, not part of the
//!   number, and guessing it away would merge strangers).
//! - Brazilian mobiles (`55`, a real DDD, an 8-digit local number starting 6–9, with or
//!   without the leading `9`) have two equivalent forms. The canonical one is the 9-digit
//!   form: it is the number Anatel assigns since the 2016 completion of the 9th-digit
//!   rollout, what the person and the agents know and type, and it can always be reduced
//!   to the 8-digit form, whereas WhatsApp's own JIDs carry either form depending on when
//!   the account was registered. Landlines (local number starting 2–5) have one form.
//! - The canonical form is an identity, not an address: to send, use the JID the event
//!   carried, since WhatsApp routes the form the account was registered with.
//! - Identity keys are written as canonical JIDs (`5511999999999@s.whatsapp.net`,
//!   `123@lid`), so they can be stored as text and parsed back with [`WhatsAppJid::parse`].
//!   Their order is stable: the canonical phone, the other phone forms, then the hidden id.
//! - The Chatwoot `identifier` of a new contact is its canonical phone JID when the phone is
//!   known, else its `@lid` JID. The relay sets it only when it creates a contact and finds
//!   contacts by every identity key, so a contact first seen by its hidden id keeps that
//!   identifier when its phone number becomes known later.
//! - Chatwoot's `phone_number` is always the canonical form with a `+`, so searching
//!   Chatwoot by phone finds the contact whichever form the event carried.
//! - Errors never repeat the whole id (a phone number is personal data); they name the part
//!   that is wrong and what would be accepted.

use std::fmt;

use crate::InvalidValue;

/// Fewest digits of an E.164 number with its country code (e.g. Saint Helena, `+290 XXXX`).
pub const PHONE_NUMBER_MIN_DIGITS: usize = 7;
/// Most digits E.164 allows, country code included.
pub const PHONE_NUMBER_MAX_DIGITS: usize = 15;
/// Most digits we accept in a hidden id, group id, newsletter id or broadcast list id.
const OPAQUE_ID_MAX_DIGITS: usize = 32;

const PHONE_SERVER: &str = "s.whatsapp.net";
const LEGACY_PHONE_SERVER: &str = "c.us";
const LID_SERVER: &str = "lid";
const GROUP_SERVER: &str = "g.us";
const NEWSLETTER_SERVER: &str = "newsletter";
const BROADCAST_SERVER: &str = "broadcast";
const STATUS_BROADCAST_USER: &str = "status";

const BRAZIL_COUNTRY_CODE: &str = "55";
/// Every area code (DDD) in use in Brazil.
const BRAZILIAN_AREA_CODES: [u8; 67] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77,
    79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
];

/// What a WhatsApp id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JidKind {
    /// A person by phone number: `<digits>@s.whatsapp.net`.
    Phone,
    /// A person by hidden id: `<digits>@lid`.
    Lid,
    /// A group: `<digits>@g.us` or the legacy `<creator>-<timestamp>@g.us`.
    Group,
    /// A channel: `<digits>@newsletter`.
    Newsletter,
    /// Status updates (`status@broadcast`) or a broadcast list (`<digits>@broadcast`).
    Broadcast,
}

impl JidKind {
    /// The server part of this kind's canonical JID.
    pub fn server(self) -> &'static str {
        match self {
            Self::Phone => PHONE_SERVER,
            Self::Lid => LID_SERVER,
            Self::Group => GROUP_SERVER,
            Self::Newsletter => NEWSLETTER_SERVER,
            Self::Broadcast => BROADCAST_SERVER,
        }
    }

    /// Whether this kind names one person.
    pub fn is_person(self) -> bool {
        matches!(self, Self::Phone | Self::Lid)
    }

    fn described(self) -> &'static str {
        match self {
            Self::Phone => "a phone id (@s.whatsapp.net)",
            Self::Lid => "a hidden id (@lid)",
            Self::Group => "a group id (@g.us)",
            Self::Newsletter => "a channel id (@newsletter)",
            Self::Broadcast => "a broadcast id (@broadcast)",
        }
    }
}

/// A WhatsApp id without its device and agent parts, in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WhatsAppJid {
    kind: JidKind,
    user: String,
}

impl WhatsAppJid {
    /// Reads a JID (`<user>[.<agent>][:<device>]@<server>`) or a bare phone number.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidValue::new(
                "must not be empty; give a WhatsApp id such as 5511999999999@s.whatsapp.net or a phone number with its country code",
            ));
        }
        let Some((user_part, server)) = value.split_once('@') else {
            let phone = PhoneNumber::parse(value)?;
            return Ok(Self::from_phone(&phone));
        };
        if server.contains('@') {
            return Err(InvalidValue::new(
                "must contain at most one '@', as in <user>@<server>",
            ));
        }
        let kind = kind_of_server(server)?;
        let user = strip_device_and_agent(user_part)?;
        match kind {
            JidKind::Phone => {
                let phone = PhoneNumber::from_digits(user).map_err(|error| {
                    InvalidValue::new(format!("the user part of a phone id {}", error.reason()))
                })?;
                Ok(Self::from_phone(&phone))
            }
            JidKind::Lid | JidKind::Newsletter => {
                check_opaque_digits(user, kind)?;
                Ok(Self::new(kind, user))
            }
            JidKind::Group => {
                check_group_user(user)?;
                Ok(Self::new(kind, user))
            }
            JidKind::Broadcast => {
                if !user.eq_ignore_ascii_case(STATUS_BROADCAST_USER) {
                    check_opaque_digits(user, kind)?;
                }
                Ok(Self::new(kind, &user.to_ascii_lowercase()))
            }
        }
    }

    /// The phone JID of a number, in the number's own form (not canonicalised).
    pub fn from_phone(phone: &PhoneNumber) -> Self {
        Self::new(JidKind::Phone, phone.as_str())
    }

    fn new(kind: JidKind, user: &str) -> Self {
        Self {
            kind,
            user: user.to_owned(),
        }
    }

    pub fn kind(&self) -> JidKind {
        self.kind
    }

    /// The user part without device or agent: digits, except `status` for status updates
    /// and `<creator>-<timestamp>` for legacy groups.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn server(&self) -> &'static str {
        self.kind.server()
    }

    /// The phone number, when this is a phone id.
    pub fn phone_number(&self) -> Option<PhoneNumber> {
        (self.kind == JidKind::Phone).then(|| PhoneNumber(self.user.clone()))
    }
}

impl fmt::Display for WhatsAppJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.kind.server())
    }
}

fn kind_of_server(server: &str) -> Result<JidKind, InvalidValue> {
    let server = server.to_ascii_lowercase();
    match server.as_str() {
        PHONE_SERVER | LEGACY_PHONE_SERVER => Ok(JidKind::Phone),
        LID_SERVER => Ok(JidKind::Lid),
        GROUP_SERVER => Ok(JidKind::Group),
        NEWSLETTER_SERVER => Ok(JidKind::Newsletter),
        BROADCAST_SERVER => Ok(JidKind::Broadcast),
        "" => Err(InvalidValue::new(
            "has nothing after '@'; expected s.whatsapp.net, lid, g.us, newsletter or broadcast",
        )),
        _ => Err(InvalidValue::new(format!(
            "has an unknown WhatsApp server \"{}\"; expected s.whatsapp.net, lid, g.us, newsletter or broadcast",
            shortened(&server)
        ))),
    }
}

/// `5511999999999.0:12` → `5511999999999`; the device follows `:`, the agent follows `.`
/// (whatsmeow) or `_` (Baileys). Both must be digits when present.
fn strip_device_and_agent(user_part: &str) -> Result<&str, InvalidValue> {
    let (user_and_agent, device) = match user_part.split_once(':') {
        Some((user_and_agent, device)) => (user_and_agent, Some(device)),
        None => (user_part, None),
    };
    if device.is_some_and(|device| !is_digits(device)) {
        return Err(InvalidValue::new(
            "has a device part after ':' that is not a number, as in 5511999999999:12@s.whatsapp.net",
        ));
    }
    let (user, agent) = match user_and_agent.split_once(['.', '_']) {
        Some((user, agent)) => (user, Some(agent)),
        None => (user_and_agent, None),
    };
    if agent.is_some_and(|agent| !is_digits(agent)) {
        return Err(InvalidValue::new(
            "has an agent part after '.' or '_' that is not a number",
        ));
    }
    if user.is_empty() {
        return Err(InvalidValue::new(
            "has nothing before '@'; expected an id such as 5511999999999@s.whatsapp.net",
        ));
    }
    Ok(user)
}

fn check_opaque_digits(user: &str, kind: JidKind) -> Result<(), InvalidValue> {
    if !is_digits(user) {
        return Err(InvalidValue::new(format!(
            "is {} whose user part is not all digits",
            kind.described()
        )));
    }
    if user.len() > OPAQUE_ID_MAX_DIGITS {
        return Err(InvalidValue::new(format!(
            "is {} longer than {OPAQUE_ID_MAX_DIGITS} digits",
            kind.described()
        )));
    }
    Ok(())
}

fn check_group_user(user: &str) -> Result<(), InvalidValue> {
    let well_formed = match user.split_once('-') {
        Some((creator, timestamp)) => is_digits(creator) && is_digits(timestamp),
        None => is_digits(user),
    };
    if !well_formed {
        return Err(InvalidValue::new(
            "is a group id (@g.us) whose user part is neither digits nor <creator>-<timestamp>",
        ));
    }
    if user.len() > OPAQUE_ID_MAX_DIGITS * 2 {
        return Err(InvalidValue::new("is a group id (@g.us) that is too long"));
    }
    Ok(())
}

fn is_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit())
}

fn shortened(value: &str) -> String {
    const MAX_CHARS: usize = 32;
    if value.chars().count() <= MAX_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(MAX_CHARS).collect();
        short.push('…');
        short
    }
}

/// A phone number in E.164 without the `+`: country code and number, 7 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as a human types it: digits, an optional leading `+`, and spaces,
    /// dashes, dots or parentheses between them. The country code is required.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        let without_plus = value.strip_prefix('+').unwrap_or(value);
        let mut digits = String::with_capacity(without_plus.len());
        for character in without_plus.chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(InvalidValue::new(
                        "must be a WhatsApp id such as 5511999999999@s.whatsapp.net or a phone number: digits with an optional leading '+', spaces, dashes, dots and parentheses",
                    ));
                }
            }
        }
        Self::from_digits(&digits)
    }

    fn from_digits(digits: &str) -> Result<Self, InvalidValue> {
        if digits.is_empty() {
            return Err(InvalidValue::new(
                "must contain digits: the country code and the number",
            ));
        }
        if !is_digits(digits) {
            return Err(InvalidValue::new("must contain only digits"));
        }
        if digits.starts_with('0') {
            return Err(InvalidValue::new(
                "must start with the country code, without a dialling prefix such as 0 or 00",
            ));
        }
        if !(PHONE_NUMBER_MIN_DIGITS..=PHONE_NUMBER_MAX_DIGITS).contains(&digits.len()) {
            return Err(InvalidValue::new(format!(
                "must have {PHONE_NUMBER_MIN_DIGITS} to {PHONE_NUMBER_MAX_DIGITS} digits with the country code, not {}",
                digits.len()
            )));
        }
        Ok(Self(digits.to_owned()))
    }

    /// The digits, country code first, without `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every form under which WhatsApp may know this number, the canonical one first:
    /// two for a Brazilian mobile (with and without the 9th digit), one otherwise.
    pub fn equivalent_forms(&self) -> Vec<PhoneNumber> {
        match brazilian_mobile(&self.0) {
            Some(mobile) => vec![
                PhoneNumber(mobile.with_ninth_digit()),
                PhoneNumber(mobile.without_ninth_digit()),
            ],
            None => vec![self.clone()],
        }
    }

    /// The one form that stands for all equivalent forms: the 9-digit form of a Brazilian
    /// mobile (the number as assigned today), the number itself otherwise.
    pub fn canonical(&self) -> PhoneNumber {
        match brazilian_mobile(&self.0) {
            Some(mobile) => PhoneNumber(mobile.with_ninth_digit()),
            None => self.clone(),
        }
    }

    /// Whether two numbers are forms of the same number.
    pub fn is_equivalent_to(&self, other: &PhoneNumber) -> bool {
        self.canonical() == other.canonical()
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Brazilian mobile split into its area code and its 8 significant local digits.
struct BrazilianMobile<'a> {
    area_code: &'a str,
    local_eight_digits: &'a str,
}

impl BrazilianMobile<'_> {
    fn with_ninth_digit(&self) -> String {
        format!(
            "{BRAZIL_COUNTRY_CODE}{}9{}",
            self.area_code, self.local_eight_digits
        )
    }

    fn without_ninth_digit(&self) -> String {
        format!(
            "{BRAZIL_COUNTRY_CODE}{}{}",
            self.area_code, self.local_eight_digits
        )
    }
}

/// `55 DD 9XXXXXXXX` or `55 DD XXXXXXXX` with a real DDD and `X…` starting 6–9.
fn brazilian_mobile(digits: &str) -> Option<BrazilianMobile<'_>> {
    let national = digits.strip_prefix(BRAZIL_COUNTRY_CODE)?;
    let area_code = national.get(..2)?;
    let area_code_number: u8 = area_code.parse().ok()?;
    if !BRAZILIAN_AREA_CODES.contains(&area_code_number) {
        return None;
    }
    let local = national.get(2..)?;
    let local_eight_digits = match local.len() {
        9 => local.strip_prefix('9')?,
        8 => local,
        _ => return None,
    };
    let starts_as_mobile = local_eight_digits
        .bytes()
        .next()
        .is_some_and(|first| (b'6'..=b'9').contains(&first));
    starts_as_mobile.then_some(BrazilianMobile {
        area_code,
        local_eight_digits,
    })
}

/// One key a person can be found by: a phone JID (one per equivalent form) or a hidden id.
/// It prints as the canonical JID, which [`WhatsAppJid::parse`] reads back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(WhatsAppJid);

impl IdentityKey {
    pub fn kind(&self) -> JidKind {
        self.0.kind()
    }

    pub fn jid(&self) -> &WhatsAppJid {
        &self.0
    }

    pub fn phone_number(&self) -> Option<PhoneNumber> {
        self.0.phone_number()
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A person as an event names them (CONTRACT §5 `sender: {jid, lid}`): their canonical
/// phone number, their hidden id, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactKey {
    phone: Option<PhoneNumber>,
    lid: Option<WhatsAppJid>,
}

impl ContactKey {
    /// Reads the `jid` and `lid` of an event's sender or private chat. `jid` may be a phone
    /// JID, a bare number or (when the phone is hidden) an `@lid` JID; `lid` an `@lid` JID or
    /// its bare digits. Absent, empty and blank values count as not given.
    pub fn from_sender(jid: Option<&str>, lid: Option<&str>) -> Result<Self, InvalidValue> {
        let jid = jid.map(str::trim).filter(|value| !value.is_empty());
        let lid = lid.map(str::trim).filter(|value| !value.is_empty());
        let mut phone = None;
        let mut hidden_id = None;
        if let Some(jid) = jid {
            let parsed = WhatsAppJid::parse(jid)
                .map_err(|error| InvalidValue::new(format!("jid: {}", error.reason())))?;
            match parsed.kind() {
                JidKind::Phone => phone = parsed.phone_number().map(|number| number.canonical()),
                JidKind::Lid => hidden_id = Some(parsed),
                other => {
                    return Err(InvalidValue::new(format!(
                        "jid: is {}, not a person; a phone id (@s.whatsapp.net) or a hidden id (@lid) was expected",
                        other.described()
                    )));
                }
            }
        }
        if let Some(lid) = lid {
            let parsed = parse_lid_field(lid)?;
            if hidden_id
                .as_ref()
                .is_some_and(|from_jid| *from_jid != parsed)
            {
                return Err(InvalidValue::new(
                    "lid: names a different hidden id than jid; they must name the same person",
                ));
            }
            hidden_id = Some(parsed);
        }
        if phone.is_none() && hidden_id.is_none() {
            return Err(InvalidValue::new(
                "neither jid nor lid is given; at least one must name the person",
            ));
        }
        Ok(Self {
            phone,
            lid: hidden_id,
        })
    }

    /// The canonical phone number, when known.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref()
    }

    /// The hidden id, when known.
    pub fn lid(&self) -> Option<&WhatsAppJid> {
        self.lid.as_ref()
    }

    /// Every key that names this person, in a stable order: the canonical phone, the other
    /// equivalent phone forms, then the hidden id.
    pub fn identity_keys(&self) -> Vec<IdentityKey> {
        let phone_keys = self
            .phone
            .iter()
            .flat_map(PhoneNumber::equivalent_forms)
            .map(|form| IdentityKey(WhatsAppJid::from_phone(&form)));
        let lid_key = self.lid.iter().cloned().map(IdentityKey);
        phone_keys.chain(lid_key).collect()
    }

    /// The `identifier` to give a Chatwoot contact created for this person: the canonical
    /// phone JID when the phone is known, else the `@lid` JID.
    pub fn chatwoot_identifier(&self) -> String {
        match (&self.phone, &self.lid) {
            (Some(phone), _) => WhatsAppJid::from_phone(phone).to_string(),
            (None, Some(lid)) => lid.to_string(),
            // `from_sender` refuses a key with neither; keep a total function anyway.
            (None, None) => String::new(),
        }
    }
}

fn parse_lid_field(lid: &str) -> Result<WhatsAppJid, InvalidValue> {
    let as_jid = if lid.contains('@') {
        lid.to_owned()
    } else {
        format!("{lid}@{LID_SERVER}")
    };
    let parsed = WhatsAppJid::parse(&as_jid)
        .map_err(|error| InvalidValue::new(format!("lid: {}", error.reason())))?;
    if parsed.kind() != JidKind::Lid {
        return Err(InvalidValue::new(format!(
            "lid: is {}; a hidden id such as 123456789012345@lid was expected",
            parsed.kind().described()
        )));
    }
    Ok(parsed)
}

/// Every key that names the person an event's `jid`/`lid` pair names; see
/// [`ContactKey::identity_keys`].
pub fn identity_keys(
    jid: Option<&str>,
    lid: Option<&str>,
) -> Result<Vec<IdentityKey>, InvalidValue> {
    Ok(ContactKey::from_sender(jid, lid)?.identity_keys())
}

/// The `phone_number` Chatwoot stores for this number: `+` and the canonical digits, so the
/// same person is stored the same way whichever form the event carried.
pub fn chatwoot_phone_number(phone: &PhoneNumber) -> String {
    format!("+{}", phone.canonical().as_str())
}

/// The `identifier` of a Chatwoot contact; see [`ContactKey::chatwoot_identifier`].
pub fn chatwoot_identifier(contact: &ContactKey) -> String {
    contact.chatwoot_identifier()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jid_form_parses_to_its_kind_user_and_canonical_form() {
        let cases: &[(&str, JidKind, &str, &str)] = &[
            // (input, kind, user, canonical)
            (
                "5511999999999@s.whatsapp.net",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "5511999999999:12@s.whatsapp.net",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "5511999999999.0:3@s.whatsapp.net",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "5511999999999_1:3@s.whatsapp.net",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "5511999999999:0@s.whatsapp.net",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "14155552671@c.us",
                JidKind::Phone,
                "14155552671",
                "14155552671@s.whatsapp.net",
            ),
            (
                "14155552671@S.WhatsApp.Net",
                JidKind::Phone,
                "14155552671",
                "14155552671@s.whatsapp.net",
            ),
            (
                "  351912345678@s.whatsapp.net  ",
                JidKind::Phone,
                "351912345678",
                "351912345678@s.whatsapp.net",
            ),
            (
                "123456789012345@lid",
                JidKind::Lid,
                "123456789012345",
                "123456789012345@lid",
            ),
            (
                "123456789012345:7@lid",
                JidKind::Lid,
                "123456789012345",
                "123456789012345@lid",
            ),
            (
                "123456789012345.1:7@lid",
                JidKind::Lid,
                "123456789012345",
                "123456789012345@lid",
            ),
            (
                "120363025246125486@g.us",
                JidKind::Group,
                "120363025246125486",
                "120363025246125486@g.us",
            ),
            (
                "5511999999999-1609876543@g.us",
                JidKind::Group,
                "5511999999999-1609876543",
                "5511999999999-1609876543@g.us",
            ),
            (
                "120363123456789012@newsletter",
                JidKind::Newsletter,
                "120363123456789012",
                "120363123456789012@newsletter",
            ),
            (
                "status@broadcast",
                JidKind::Broadcast,
                "status",
                "status@broadcast",
            ),
            (
                "STATUS@broadcast",
                JidKind::Broadcast,
                "status",
                "status@broadcast",
            ),
            (
                "1609876543@broadcast",
                JidKind::Broadcast,
                "1609876543",
                "1609876543@broadcast",
            ),
            // Bare numbers are phones.
            (
                "5511999999999",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "+55 11 99999-9999",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "+55 (11) 9 9999-9999",
                JidKind::Phone,
                "5511999999999",
                "5511999999999@s.whatsapp.net",
            ),
            (
                "+1 (415) 555-2671",
                JidKind::Phone,
                "14155552671",
                "14155552671@s.whatsapp.net",
            ),
            (
                "+351 912 345 678",
                JidKind::Phone,
                "351912345678",
                "351912345678@s.whatsapp.net",
            ),
            (
                "44.20.7946.0958",
                JidKind::Phone,
                "442079460958",
                "442079460958@s.whatsapp.net",
            ),
            (
                "2903456",
                JidKind::Phone,
                "2903456",
                "2903456@s.whatsapp.net",
            ),
        ];
        for (input, kind, user, canonical) in cases {
            let jid = WhatsAppJid::parse(input).unwrap_or_else(|error| panic!("{input}: {error}"));
            assert_eq!(jid.kind(), *kind, "{input}");
            assert_eq!(jid.user(), *user, "{input}");
            assert_eq!(jid.to_string(), *canonical, "{input}");
            assert_eq!(jid.server(), kind.server(), "{input}");
            assert_eq!(
                WhatsAppJid::parse(canonical).as_ref(),
                Ok(&jid),
                "{input} round trip"
            );
        }
    }

    #[test]
    fn garbage_ids_are_refused_with_a_message_naming_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("@s.whatsapp.net", "nothing before '@'"),
            ("5511999999999@", "nothing after '@'"),
            (
                "5511999999999@example.com",
                "unknown WhatsApp server \"example.com\"",
            ),
            ("5511999999999@s.whatsapp.net@lid", "at most one '@'"),
            ("abc@s.whatsapp.net", "only digits"),
            ("5511999999999:ab@s.whatsapp.net", "device part"),
            ("5511999999999:@s.whatsapp.net", "device part"),
            ("5511999999999.x:1@s.whatsapp.net", "agent part"),
            ("05511999999999@s.whatsapp.net", "without a dialling prefix"),
            ("123@s.whatsapp.net", "7 to 15 digits"),
            (
                "1234567890123456@s.whatsapp.net",
                "7 to 15 digits with the country code, not 16",
            ),
            (
                "abc@lid",
                "hidden id (@lid) whose user part is not all digits",
            ),
            (":1@lid", "nothing before '@'"),
            (
                "123456789012345678901234567890123@lid",
                "longer than 32 digits",
            ),
            ("group-name@g.us", "group id"),
            ("12-34-56@g.us", "group id"),
            ("news@newsletter", "channel id"),
            ("everyone@broadcast", "broadcast id"),
            ("hello", "digits with an optional leading '+'"),
            ("+", "must contain digits"),
            ("++5511999999999", "digits with an optional leading '+'"),
            (
                "55 11 99999 9999 ext 2",
                "digits with an optional leading '+'",
            ),
            (
                "0055 11 99999-9999",
                "without a dialling prefix such as 0 or 00",
            ),
            ("(11) 9999", "7 to 15 digits with the country code, not 6"),
            (
                "５５１１９９９９９９９９９",
                "digits with an optional leading '+'",
            ),
        ];
        for (input, expected) in cases {
            let error = WhatsAppJid::parse(input).expect_err(input);
            assert!(
                error.reason().contains(expected),
                "{input:?}: {:?} should contain {expected:?}",
                error.reason()
            );
        }
    }

    #[test]
    fn errors_do_not_repeat_the_whole_number() {
        let error = WhatsAppJid::parse("5511987654321@nowhere.example").expect_err("server");
        assert!(!error.reason().contains("5511987654321"));
        let long = format!("1@{}", "x".repeat(100));
        let error = WhatsAppJid::parse(&long).expect_err("long server");
        assert!(error.reason().len() < 200, "{}", error.reason());
    }

    #[test]
    fn only_person_kinds_are_people() {
        assert!(JidKind::Phone.is_person());
        assert!(JidKind::Lid.is_person());
        assert!(!JidKind::Group.is_person());
        assert!(!JidKind::Newsletter.is_person());
        assert!(!JidKind::Broadcast.is_person());
    }

    fn phone(digits: &str) -> PhoneNumber {
        PhoneNumber::parse(digits).unwrap_or_else(|error| panic!("{digits}: {error}"))
    }

    fn digits_of(numbers: &[PhoneNumber]) -> Vec<&str> {
        numbers.iter().map(PhoneNumber::as_str).collect()
    }

    #[test]
    fn brazilian_mobiles_have_both_forms_and_the_nine_digit_one_is_canonical() {
        let cases: &[(&str, &str, &str)] = &[
            // (input, canonical = with 9th digit, without 9th digit)
            ("5511999999999", "5511999999999", "551199999999"),
            ("551199999999", "5511999999999", "551199999999"),
            ("5521987654321", "5521987654321", "552187654321"),
            ("552187654321", "5521987654321", "552187654321"),
            ("5531988887777", "5531988887777", "553188887777"),
            ("553188887777", "5531988887777", "553188887777"),
            ("554196543210", "5541996543210", "554196543210"),
            ("5551976543210", "5551976543210", "555176543210"),
            ("556181234567", "5561981234567", "556181234567"),
            ("5571991234567", "5571991234567", "557191234567"),
            ("558588776655", "5585988776655", "558588776655"),
            ("5592961234567", "5592961234567", "559261234567"),
            ("559971234567", "5599971234567", "559971234567"),
            ("+55 (11) 9 6123-4567", "5511961234567", "551161234567"),
            ("5519960000000", "5519960000000", "551960000000"),
        ];
        for (input, with_ninth, without_ninth) in cases {
            let number = phone(input);
            assert_eq!(number.canonical().as_str(), *with_ninth, "{input}");
            assert_eq!(
                digits_of(&number.equivalent_forms()),
                vec![*with_ninth, *without_ninth],
                "{input}"
            );
            assert!(number.is_equivalent_to(&phone(with_ninth)), "{input}");
            assert!(number.is_equivalent_to(&phone(without_ninth)), "{input}");
            assert_eq!(
                number.canonical().equivalent_forms(),
                number.equivalent_forms(),
                "{input}: every form has the same forms"
            );
        }
    }

    #[test]
    fn numbers_without_a_ninth_digit_variant_have_one_form() {
        let cases: &[&str] = &[
            // Brazilian landlines (local number starts 2–5).
            "551132345678",
            "552125551234",
            "553134567890",
            "554142345678",
            "556132221100",
            // A 9 before a landline-looking number is not a mobile.
            "5511932345678",
            // Not a DDD in use (20, 23, 10).
            "552098765432",
            "5523987654321",
            "551098765432",
            // Brazilian but of another length.
            "55119876543",
            "55800123456",
            // United States, Portugal, United Kingdom, India, Argentina (country code 54).
            "14155552671",
            "12125550199",
            "351912345678",
            "351212345678",
            "447911123456",
            "919876543210",
            "5491123456789",
            // Starts like Brazil's code, but is 13 digits of a different layout.
            "5500999999999",
        ];
        for input in cases {
            let number = phone(input);
            assert_eq!(number.canonical(), number, "{input}");
            assert_eq!(
                digits_of(&number.equivalent_forms()),
                vec![*input],
                "{input}"
            );
        }
        assert!(!phone("14155552671").is_equivalent_to(&phone("14155552672")));
        assert!(!phone("551199999999").is_equivalent_to(&phone("5521999999999")));
    }

    #[test]
    fn phone_numbers_keep_their_digits_and_print_them() {
        let number = phone("+351 912-345-678");
        assert_eq!(number.as_str(), "351912345678");
        assert_eq!(number.to_string(), "351912345678");
        assert_eq!(
            WhatsAppJid::from_phone(&number).to_string(),
            "351912345678@s.whatsapp.net"
        );
        assert_eq!(
            WhatsAppJid::parse("351912345678@s.whatsapp.net")
                .expect("phone jid")
                .phone_number(),
            Some(number)
        );
        assert_eq!(
            WhatsAppJid::parse("1@lid").expect("lid").phone_number(),
            None
        );
    }

    fn keys(jid: Option<&str>, lid: Option<&str>) -> Vec<String> {
        identity_keys(jid, lid)
            .unwrap_or_else(|error| panic!("{jid:?} {lid:?}: {error}"))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn identity_keys_name_every_form_of_the_person_in_a_stable_order() {
        let br_with = "5511999999999@s.whatsapp.net";
        let br_without = "551199999999@s.whatsapp.net";
        let lid = "123456789012345@lid";
        let cases: &[(Option<&str>, Option<&str>, &[&str])] = &[
            // jid only
            (Some(br_with), None, &[br_with, br_without]),
            (Some(br_without), None, &[br_with, br_without]),
            (
                Some("5511999999999:12@s.whatsapp.net"),
                None,
                &[br_with, br_without],
            ),
            (Some("551199999999@c.us"), None, &[br_with, br_without]),
            (Some("+55 11 99999-9999"), None, &[br_with, br_without]),
            (
                Some("14155552671@s.whatsapp.net"),
                None,
                &["14155552671@s.whatsapp.net"],
            ),
            (
                Some("551132345678@s.whatsapp.net"),
                None,
                &["551132345678@s.whatsapp.net"],
            ),
            // lid only, in either field, bare or with device
            (None, Some(lid), &[lid]),
            (None, Some("123456789012345"), &[lid]),
            (None, Some("123456789012345:3@lid"), &[lid]),
            (Some(lid), None, &[lid]),
            (Some("123456789012345:3@lid"), None, &[lid]),
            // both
            (Some(br_without), Some(lid), &[br_with, br_without, lid]),
            (
                Some(br_with),
                Some("123456789012345"),
                &[br_with, br_without, lid],
            ),
            (
                Some("351912345678@s.whatsapp.net"),
                Some(lid),
                &["351912345678@s.whatsapp.net", lid],
            ),
            (Some(lid), Some(lid), &[lid]),
            // blank values count as absent
            (Some(br_with), Some(""), &[br_with, br_without]),
            (Some("  "), Some(lid), &[lid]),
        ];
        for (jid, lid_field, expected) in cases {
            assert_eq!(keys(*jid, *lid_field), *expected, "{jid:?} {lid_field:?}");
        }
    }

    #[test]
    fn the_same_person_gets_the_same_keys_whatever_id_the_event_carries() {
        let lid = Some("123456789012345@lid");
        let reference = keys(Some("5521987654321@s.whatsapp.net"), lid);
        for jid in [
            "552187654321@s.whatsapp.net",
            "5521987654321:2@s.whatsapp.net",
            "552187654321.0:9@s.whatsapp.net",
            "+55 21 98765-4321",
            "55 21 8765-4321",
        ] {
            assert_eq!(keys(Some(jid), lid), reference, "{jid}");
        }
        // A lid-only event shares the lid key, so the relay finds the same contact.
        assert!(keys(None, lid).iter().all(|key| reference.contains(key)));
    }

    #[test]
    fn identity_keys_refuse_what_does_not_name_a_person() {
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (None, None, "neither jid nor lid is given"),
            (Some(""), Some("  "), "neither jid nor lid is given"),
            (
                Some("120363025246125486@g.us"),
                None,
                "jid: is a group id (@g.us), not a person",
            ),
            (
                Some("status@broadcast"),
                None,
                "jid: is a broadcast id (@broadcast), not a person",
            ),
            (
                Some("1203631@newsletter"),
                None,
                "jid: is a channel id (@newsletter), not a person",
            ),
            (Some("hello"), None, "jid: must be a WhatsApp id"),
            (
                Some("12@s.whatsapp.net"),
                None,
                "jid: the user part of a phone id must have 7 to 15 digits",
            ),
            (
                None,
                Some("5511999999999@s.whatsapp.net"),
                "lid: is a phone id (@s.whatsapp.net)",
            ),
            (
                None,
                Some("abc"),
                "lid: is a hidden id (@lid) whose user part is not all digits",
            ),
            (None, Some("1@g.us"), "lid: is a group id"),
            (
                Some("111@lid"),
                Some("222@lid"),
                "lid: names a different hidden id than jid",
            ),
        ];
        for (jid, lid, expected) in cases {
            let error = identity_keys(*jid, *lid).expect_err(expected);
            assert!(
                error.reason().contains(expected),
                "{jid:?} {lid:?}: {:?} should contain {expected:?}",
                error.reason()
            );
        }
    }

    #[test]
    fn contact_keys_expose_the_canonical_phone_and_the_lid() {
        let contact =
            ContactKey::from_sender(Some("551199999999:4@s.whatsapp.net"), Some("987@lid"))
                .expect("contact");
        assert_eq!(
            contact.phone().map(PhoneNumber::as_str),
            Some("5511999999999")
        );
        assert_eq!(
            contact.lid().map(ToString::to_string).as_deref(),
            Some("987@lid")
        );
        let identity_keys = contact.identity_keys();
        let kinds: Vec<JidKind> = identity_keys.iter().map(IdentityKey::kind).collect();
        assert_eq!(kinds, vec![JidKind::Phone, JidKind::Phone, JidKind::Lid]);
        assert_eq!(
            identity_keys[1]
                .phone_number()
                .map(|number| number.as_str().to_owned()),
            Some("551199999999".to_owned())
        );
        for key in &identity_keys {
            assert_eq!(WhatsAppJid::parse(&key.to_string()).as_ref(), Ok(key.jid()));
        }
    }

    #[test]
    fn chatwoot_identifier_prefers_the_canonical_phone_jid_then_the_lid() {
        let cases: &[(Option<&str>, Option<&str>, &str)] = &[
            (
                Some("551199999999@s.whatsapp.net"),
                None,
                "5511999999999@s.whatsapp.net",
            ),
            (
                Some("5511999999999:3@s.whatsapp.net"),
                Some("77@lid"),
                "5511999999999@s.whatsapp.net",
            ),
            (Some("14155552671@c.us"), None, "14155552671@s.whatsapp.net"),
            (None, Some("77"), "77@lid"),
            (Some("77:1@lid"), None, "77@lid"),
        ];
        for (jid, lid, expected) in cases {
            let contact = ContactKey::from_sender(*jid, *lid).expect("contact");
            assert_eq!(chatwoot_identifier(&contact), *expected, "{jid:?} {lid:?}");
        }
    }

    #[test]
    fn chatwoot_phone_numbers_are_canonical_with_a_plus() {
        let cases: &[(&str, &str)] = &[
            ("5511999999999", "+5511999999999"),
            ("551199999999", "+5511999999999"),
            ("553188887777", "+5531988887777"),
            ("551132345678", "+551132345678"),
            ("14155552671", "+14155552671"),
            ("351912345678", "+351912345678"),
        ];
        for (input, expected) in cases {
            assert_eq!(chatwoot_phone_number(&phone(input)), *expected, "{input}");
        }
    }
}
