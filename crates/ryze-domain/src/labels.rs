//! Labels between WhatsApp Business and Chatwoot. WhatsApp names labels freely ("Novo
//! cliente"); Chatwoot keeps a label's title in lower case, made of letters, digits, `-`
//! and `_` only. A WhatsApp name becomes the title Chatwoot would store: lower case,
//! each run of spaces (and other separators) one `-`, other characters dropped.

/// The Chatwoot title of a WhatsApp label name; `None` when nothing of it is left.
pub fn chatwoot_label_title(name: &str) -> Option<String> {
    let mut title = String::with_capacity(name.len());
    let mut pending_dash = false;
    for character in name.trim().chars() {
        if character.is_alphanumeric() || character == '_' || character == '-' {
            if pending_dash && !title.is_empty() {
                title.push('-');
            }
            pending_dash = false;
            title.extend(character.to_lowercase());
        } else if character.is_whitespace() || matches!(character, '.' | '/' | ',' | ':') {
            pending_dash = true;
        }
    }
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::chatwoot_label_title;

    #[test]
    fn whatsapp_names_become_the_titles_chatwoot_stores() {
        let cases = [
            ("Novo cliente", Some("novo-cliente")),
            ("Pago", Some("pago")),
            ("  Pedido   em  aberto ", Some("pedido-em-aberto")),
            ("VIP ⭐", Some("vip")),
            ("Ação_2", Some("ação_2")),
            ("follow-up", Some("follow-up")),
            ("⭐", None),
            ("", None),
        ];
        for (name, title) in cases {
            assert_eq!(chatwoot_label_title(name).as_deref(), title, "{name:?}");
        }
    }
}
