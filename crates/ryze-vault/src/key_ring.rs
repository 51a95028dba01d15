//! The keys a vault holds: the current one, which seals every new secret, and previous
//! ones, kept only to open secrets sealed before a rotation.

use ryze_domain::KeyId;
use secrecy::{ExposeSecret, SecretString};

use crate::master_key::{KeyParseError, KeyRole, MasterKey};

/// The current key and the previous keys. `Debug` shows key ids only.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub current: MasterKey,
    pub previous: Vec<MasterKey>,
}

impl KeyRing {
    /// A ring with a single key.
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Reads the keys given by configuration (production setup). Blank entries in
    /// `previous` are skipped, so a trailing separator in a list does not break startup;
    /// a previous key equal to the current one, or repeated, is kept once.
    pub fn from_config(
        current: &SecretString,
        previous: &[SecretString],
    ) -> Result<Self, KeyParseError> {
        Self::parse(
            current.expose_secret(),
            previous.iter().map(ExposeSecret::expose_secret),
        )
    }

    /// Parses a current key and a list of previous keys, skipping blank entries and
    /// naming a bad previous key by its 1-based position in the list.
    pub(crate) fn parse<'a>(
        current: &str,
        previous: impl Iterator<Item = &'a str>,
    ) -> Result<Self, KeyParseError> {
        let current = MasterKey::parse(current)?;
        let previous = previous
            .enumerate()
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(index, text)| {
                MasterKey::parse(text).map_err(|error| {
                    error.for_role(KeyRole::Previous {
                        position: index + 1,
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::with_previous(current, previous))
    }

    /// This ring after a rotation: `new_current` seals from now on, and every key held so
    /// far stays readable as a previous key.
    pub fn rotated(self, new_current: MasterKey) -> Self {
        let mut previous = Vec::with_capacity(self.previous.len() + 1);
        previous.push(self.current);
        previous.extend(self.previous);
        Self::with_previous(new_current, previous)
    }

    /// The held key with this id, if any.
    pub fn find(&self, id: &KeyId) -> Option<&MasterKey> {
        self.keys().find(|key| key.id() == id)
    }

    /// Every held key, the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Builds a ring, dropping previous keys that repeat an earlier key.
    fn with_previous(current: MasterKey, candidates: Vec<MasterKey>) -> Self {
        let mut ring = Self::new(current);
        for candidate in candidates {
            if ring.find(candidate.id()).is_none() {
                ring.previous.push(candidate);
            }
        }
        ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyParseProblem;

    const KEY_A: &str = "0000000000000000000000000000000000000000000000000000000000000001";
    const KEY_B: &str = "0000000000000000000000000000000000000000000000000000000000000002";

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    #[test]
    fn from_config_reads_previous_keys_skipping_blanks_and_repeats() {
        let ring = KeyRing::from_config(
            &secret(KEY_A),
            &[secret(KEY_B), secret(" "), secret(KEY_A), secret(KEY_B)],
        )
        .unwrap();
        assert_eq!(ring.current.id(), MasterKey::parse(KEY_A).unwrap().id());
        let previous_ids: Vec<_> = ring.previous.iter().map(MasterKey::id).collect();
        assert_eq!(previous_ids, vec![MasterKey::parse(KEY_B).unwrap().id()]);
    }

    #[test]
    fn from_config_names_the_bad_key_by_position() {
        let error =
            KeyRing::from_config(&secret(KEY_A), &[secret(KEY_B), secret("abcd")]).unwrap_err();
        assert_eq!(error.role, KeyRole::Previous { position: 2 });
        assert_eq!(
            error.problem,
            KeyParseProblem::WrongLength { decoded_len: 2 }
        );
        assert!(error
            .to_string()
            .starts_with("previous master key #2 decodes to 2 bytes"));

        let error = KeyRing::from_config(&secret("nope!"), &[]).unwrap_err();
        assert_eq!(error.role, KeyRole::Current);
    }

    #[test]
    fn rotation_keeps_every_old_key_after_the_new_one() {
        let first = MasterKey::parse(KEY_A).unwrap();
        let second = MasterKey::parse(KEY_B).unwrap();
        let third = MasterKey::generate().unwrap();
        let ring = KeyRing::new(first.clone())
            .rotated(second.clone())
            .rotated(third.clone());
        let ids: Vec<_> = ring.keys().map(|key| key.id().clone()).collect();
        assert_eq!(
            ids,
            vec![third.id().clone(), second.id().clone(), first.id().clone()]
        );
        assert!(ring.find(first.id()).is_some());
    }
}
