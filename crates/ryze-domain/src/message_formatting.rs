//! Text formatting between WhatsApp and Chatwoot, and the agent signature of CONTRACT §6.
//!
//! WhatsApp marks `*bold*`, `_italic_`, `~strike~`, ```` ```monospace``` ```` and
//! `` `inline code` ``; Chatwoot stores markdown: `**bold**`, `*italic*`/`_italic_`,
//! `~~strike~~`, `` `code` `` and fenced blocks. Quotes (`> `) and lists (`- `, `* `, `1. `)
//! are written the same way on both sides and pass through.
//!
//! Decisions:
//! - A small hand-written scanner, not a markdown parser: the text is cut into tokens
//!   (characters, newlines, markers, and verbatim pieces for code, URLs, escapes and links),
//!   then markers are paired. A marker opens only after a word boundary (start, whitespace,
//!   punctuation or another marker) and before a non-space; it closes only after a
//!   non-space and before a boundary; the first such closer on the same line wins, and
//!   the content is converted recursively, so `*_bold italic_*` nests. Hence
//!   `snake_case_words`, `2*3*4`, `2 * 3 * 4` and `* list items` stay as they are.
//! - Anything unmatched is left exactly as it was. Inline marks never span a newline.
//! - Code is never touched inside: inline code stays `` `x` `` both ways (WhatsApp renders
//!   it). WhatsApp's one-line ```` ```x``` ```` becomes `` `x` `` (kept as is if `x` holds a
//!   backtick); a multi-line one becomes a fenced block on its own lines. A Chatwoot fenced
//!   block becomes ```` ```…``` ```` with its language tag dropped.
//! - URLs (`http://`, `https://`, `www.`) are copied verbatim, so underscores and stars in
//!   them are never read as formatting. Trailing punctuation is not part of the URL.
//! - Chatwoot to WhatsApp only: markdown backslash escapes (`\*`, `\_`, which Chatwoot's
//!   editor writes) become the bare character, a backslash before a line break (the hard
//!   break Chatwoot 4.10.1–4.11 writes at every newline) becomes the line break alone,
//!   and `[label](url)` becomes `label (url)` (just `url` when the label is the URL).
//!   Runs WhatsApp cannot show (`***x***`) map to the nearest nesting (`*_x_*`).
//! - WhatsApp to Chatwoot keeps `_italic_` (valid markdown) rather than rewriting it, and
//!   does not escape literal markdown characters: the text stays what the person typed.
//! - Every step is linear (pairing is a binary search, n·log n): the text is untrusted and
//!   converted inside async tasks, so no input may make it scan the rest of the text once
//!   per character (a URL followed by thousands of `)`, thousands of unclosed `*a `, or of
//!   unclosed `[a](` once took minutes on 256 KiB).
//! - The signature strips `*` from the agent's name (WhatsApp has no escape) and folds its
//!   whitespace, so the name cannot end the bold early or break the header line.

use std::ops::Range;

/// Characters that can mark emphasis on either side.
const EMPHASIS_MARKERS: [char; 3] = ['*', '_', '~'];
const CODE_FENCE: [char; 3] = ['`', '`', '`'];
const URL_PREFIXES: [&str; 3] = ["http://", "https://", "www."];
/// Longest language tag of a fenced block that we recognise (and drop).
const LANGUAGE_TAG_MAX_CHARS: usize = 20;
/// Longest run of markers either side pairs (`***x***`); see [`delimiters`].
const LONGEST_PAIRED_RUN: usize = 3;

/// Converts a WhatsApp-formatted text into Chatwoot markdown.
pub fn whatsapp_to_chatwoot(text: &str) -> String {
    convert(text, Dialect::WhatsApp)
}

/// Converts Chatwoot markdown into a WhatsApp-formatted text.
pub fn chatwoot_to_whatsapp(text: &str) -> String {
    convert(text, Dialect::Chatwoot)
}

/// An agent's message as sent with `signMessages`: `*<Agent Name>*:`, a newline, then the
/// text (already in WhatsApp formatting). The name loses its `*` and its line breaks; a
/// name left empty signs nothing and the text goes out alone.
pub fn signed_for_whatsapp(agent_name: &str, text: &str) -> String {
    let name = agent_name
        .chars()
        .filter(|character| *character != '*')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        return text.to_owned();
    }
    format!("*{name}*:\n{text}")
}

/// The side a text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    WhatsApp,
    Chatwoot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(char),
    Newline,
    Marker(char),
    /// Copied to the output as is; `before` and `after` are the source characters at its
    /// ends, which decide whether a marker next to it stands at a word boundary.
    Verbatim {
        text: String,
        before: char,
        after: char,
    },
}

fn convert(text: &str, dialect: Dialect) -> String {
    let characters: Vec<char> = text.chars().collect();
    let tokens = tokenize(&characters, dialect);
    let closing_runs = ClosingRuns::find(&tokens);
    let mut output = String::with_capacity(text.len() + 8);
    render(
        &tokens,
        0..tokens.len(),
        dialect,
        &closing_runs,
        &mut output,
    );
    output
}

fn tokenize(characters: &[char], dialect: Dialect) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(characters.len());
    let mut link_targets = LinkTargetScan::default();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if character == '\n' {
            tokens.push(Token::Newline);
            index += 1;
        } else if let Some((token, next)) = escaped_character(characters, index, dialect) {
            tokens.push(token);
            index = next;
        } else if characters[index..].starts_with(&CODE_FENCE) {
            match code_block(characters, index, dialect) {
                Some((token, next)) => {
                    tokens.push(token);
                    index = next;
                }
                None => {
                    tokens.extend(CODE_FENCE.iter().map(|tick| Token::Text(*tick)));
                    index += CODE_FENCE.len();
                }
            }
        } else if character == '`' {
            match inline_code_end(characters, index) {
                Some(end) => {
                    tokens.push(verbatim(&characters[index..=end]));
                    index = end + 1;
                }
                None => {
                    tokens.push(Token::Text(character));
                    index += 1;
                }
            }
        } else if let Some(end) = url_end(characters, index) {
            tokens.push(verbatim(&characters[index..end]));
            index = end;
        } else if let Some((link_tokens, next)) =
            markdown_link(characters, index, dialect, &mut link_targets)
        {
            tokens.extend(link_tokens);
            index = next;
        } else if EMPHASIS_MARKERS.contains(&character) {
            tokens.push(Token::Marker(character));
            index += 1;
        } else {
            tokens.push(Token::Text(character));
            index += 1;
        }
    }
    tokens
}

fn verbatim(characters: &[char]) -> Token {
    Token::Verbatim {
        text: characters.iter().collect(),
        before: characters.first().copied().unwrap_or(' '),
        after: characters.last().copied().unwrap_or(' '),
    }
}

/// Markdown's `\*`: the character itself, never a marker. WhatsApp has no escapes.
/// A backslash before a line break (CommonMark's hard break, which Chatwoot 4.10.1–4.11's
/// editor writes at every newline) is the line break alone.
fn escaped_character(
    characters: &[char],
    index: usize,
    dialect: Dialect,
) -> Option<(Token, usize)> {
    if dialect != Dialect::Chatwoot || characters[index] != '\\' {
        return None;
    }
    let escaped = *characters.get(index + 1)?;
    if escaped == '\n' {
        return Some((Token::Newline, index + 2));
    }
    if escaped == '\r' && characters.get(index + 2) == Some(&'\n') {
        return Some((Token::Newline, index + 3));
    }
    escaped.is_ascii_punctuation().then(|| {
        let token = Token::Verbatim {
            text: escaped.to_string(),
            before: escaped,
            after: escaped,
        };
        (token, index + 2)
    })
}

/// A ```` ``` ```` block starting at `index`, converted; `None` when it never closes or
/// holds nothing.
fn code_block(characters: &[char], index: usize, dialect: Dialect) -> Option<(Token, usize)> {
    let content_start = index + CODE_FENCE.len();
    let closing = (content_start..characters.len())
        .find(|position| characters[*position..].starts_with(&CODE_FENCE))?;
    let content = &characters[content_start..closing];
    let after_closing = closing + CODE_FENCE.len();
    if content.is_empty() {
        return None;
    }
    let text = match dialect {
        Dialect::WhatsApp => {
            let at_line_start = index == 0 || characters[index - 1] == '\n';
            let line_ends_after = characters
                .get(after_closing)
                .is_none_or(|next| *next == '\n');
            whatsapp_code_to_markdown(content, at_line_start, line_ends_after)
        }
        Dialect::Chatwoot => {
            let closes_at_line_start = characters[closing - 1] == '\n';
            markdown_code_to_whatsapp(content, closes_at_line_start)
        }
    };
    let token = Token::Verbatim {
        text,
        before: '`',
        after: '`',
    };
    Some((token, after_closing))
}

fn whatsapp_code_to_markdown(
    content: &[char],
    at_line_start: bool,
    line_ends_after: bool,
) -> String {
    let content: String = content.iter().collect();
    if !content.contains('\n') {
        return if content.contains('`') {
            format!("```{content}```")
        } else {
            format!("`{content}`")
        };
    }
    let mut block = String::with_capacity(content.len() + 10);
    if !at_line_start {
        block.push('\n');
    }
    block.push_str("```\n");
    block.push_str(content.strip_prefix('\n').unwrap_or(&content));
    if !block.ends_with('\n') {
        block.push('\n');
    }
    block.push_str("```");
    if !line_ends_after {
        block.push('\n');
    }
    block
}

fn markdown_code_to_whatsapp(content: &[char], closes_at_line_start: bool) -> String {
    let content: String = content.iter().collect();
    let body = match content.split_once('\n') {
        Some((first_line, rest)) if closes_at_line_start && is_language_tag(first_line) => rest,
        _ => content.as_str(),
    };
    let body = body.strip_suffix('\n').unwrap_or(body);
    format!("```{body}```")
}

fn is_language_tag(line: &str) -> bool {
    let tag = line.trim();
    tag.chars().count() <= LANGUAGE_TAG_MAX_CHARS
        && tag.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '+' | '-' | '#' | '.' | '_')
        })
}

/// The closing backtick of an inline code span opened at `index`, on the same line and
/// with something inside.
fn inline_code_end(characters: &[char], index: usize) -> Option<usize> {
    let end = (index + 1..characters.len())
        .take_while(|position| characters[*position] != '\n')
        .find(|position| characters[*position] == '`')?;
    (end > index + 1).then_some(end)
}

/// Where a URL starting at `index` ends (exclusive), leaving out trailing punctuation.
fn url_end(characters: &[char], index: usize) -> Option<usize> {
    if index > 0 && characters[index - 1].is_alphanumeric() {
        return None;
    }
    // The prefixes are ASCII: as many characters as bytes.
    let prefix_len = URL_PREFIXES.iter().find_map(|prefix| {
        let candidate = characters.get(index..index + prefix.len())?;
        candidate
            .iter()
            .zip(prefix.chars())
            .all(|(found, expected)| found.to_ascii_lowercase() == expected)
            .then_some(prefix.len())
    })?;
    let mut end = (index..characters.len())
        .find(|position| characters[*position].is_whitespace())
        .unwrap_or(characters.len());
    // Counted once and kept up to date while trimming, so that a URL followed by
    // thousands of `)` is not counted again for each of them.
    let url = &characters[index..end];
    let opening_parentheses = url.iter().filter(|c| **c == '(').count();
    let mut closing_parentheses = url.iter().filter(|c| **c == ')').count();
    while end > index + prefix_len {
        let last = characters[end - 1];
        let unbalanced_parenthesis = last == ')' && opening_parentheses < closing_parentheses;
        if matches!(
            last,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '*' | '_' | '~'
        ) || unbalanced_parenthesis
        {
            if last == ')' {
                closing_parentheses -= 1;
            }
            end -= 1;
        } else {
            break;
        }
    }
    (end > index + prefix_len).then_some(end)
}

/// Markdown's `[label](url)`, as `label (url)`, or `url` when the label says nothing more.
fn markdown_link(
    characters: &[char],
    index: usize,
    dialect: Dialect,
    link_targets: &mut LinkTargetScan,
) -> Option<(Vec<Token>, usize)> {
    if dialect != Dialect::Chatwoot || characters[index] != '[' {
        return None;
    }
    let label_end = (index + 1..characters.len())
        .take_while(|position| !matches!(characters[*position], '\n' | '['))
        .find(|position| characters[*position] == ']')?;
    if characters.get(label_end + 1) != Some(&'(') {
        return None;
    }
    let url_start = label_end + 2;
    let url_end = link_targets.closing_parenthesis(characters, url_start)?;
    if url_end == url_start {
        return None;
    }
    let label = &characters[index + 1..label_end];
    let url = &characters[url_start..url_end];
    let label_text: String = label.iter().collect();
    let url_text: String = url.iter().collect();
    let mut tokens = Vec::new();
    if label_text.trim().is_empty() || label_text.trim() == url_text {
        tokens.push(verbatim(url));
    } else {
        tokens.extend(tokenize(label, dialect));
        let mut suffix = vec![' ', '('];
        suffix.extend_from_slice(url);
        suffix.push(')');
        tokens.push(verbatim(&suffix));
    }
    Some((tokens, url_end + 1))
}

/// Where a link target (`(url)`) ends, remembered between the links of one text: a text
/// of thousands of unclosed `[a](` would otherwise scan its rest once for each of them.
#[derive(Default)]
struct LinkTargetScan {
    /// The last scan: from where, and the first `)` or whitespace from there (the
    /// text's length when there is none).
    last: Option<(usize, usize)>,
}

impl LinkTargetScan {
    /// The first `)` at or after `start` with no whitespace before it. `start` never
    /// decreases between calls, so every character is scanned at most once.
    fn closing_parenthesis(&mut self, characters: &[char], start: usize) -> Option<usize> {
        let stop = match self.last {
            Some((scanned_from, stop)) if (scanned_from..=stop).contains(&start) => stop,
            _ => {
                let stop = (start..characters.len())
                    .find(|position| {
                        characters[*position] == ')' || characters[*position].is_whitespace()
                    })
                    .unwrap_or(characters.len());
                self.last = Some((start, stop));
                stop
            }
        };
        (characters.get(stop) == Some(&')')).then_some(stop)
    }
}

/// Renders `tokens[range]`; pairs are looked up in `closing_runs`, found once for the
/// whole text.
fn render(
    tokens: &[Token],
    range: Range<usize>,
    dialect: Dialect,
    closing_runs: &ClosingRuns,
    output: &mut String,
) {
    let mut index = range.start;
    while index < range.end {
        match &tokens[index] {
            Token::Text(character) => {
                output.push(*character);
                index += 1;
            }
            Token::Newline => {
                output.push('\n');
                index += 1;
            }
            Token::Verbatim { text, .. } => {
                output.push_str(text);
                index += 1;
            }
            Token::Marker(marker) => {
                let run = run_length(&tokens[..range.end], index, *marker);
                let pairing = delimiters(dialect, *marker, run).and_then(|delimiters| {
                    let opening = MarkerRun {
                        start: index,
                        length: run,
                        marker: *marker,
                    };
                    closing_run(tokens, &range, &opening, closing_runs)
                        .map(|closing| (delimiters, closing))
                });
                match pairing {
                    Some(((opening_text, closing_text), closing)) => {
                        output.push_str(opening_text);
                        let content = index + run..closing;
                        render(tokens, content, dialect, closing_runs, output);
                        output.push_str(closing_text);
                        index = closing + run;
                    }
                    None => {
                        output.extend(std::iter::repeat_n(*marker, run));
                        index += run;
                    }
                }
            }
        }
    }
}

/// What a run of `run` markers becomes on the other side, when the source side knows it.
fn delimiters(dialect: Dialect, marker: char, run: usize) -> Option<(&'static str, &'static str)> {
    match (dialect, marker, run) {
        (Dialect::WhatsApp, '*', 1) => Some(("**", "**")),
        (Dialect::WhatsApp, '_', 1) => Some(("_", "_")),
        (Dialect::WhatsApp, '~', 1) => Some(("~~", "~~")),
        (Dialect::Chatwoot, '*' | '_', 1) => Some(("_", "_")),
        (Dialect::Chatwoot, '*' | '_', 2) => Some(("*", "*")),
        (Dialect::Chatwoot, '*' | '_', 3) => Some(("*_", "_*")),
        (Dialect::Chatwoot, '~', 1 | 2) => Some(("~", "~")),
        _ => None,
    }
}

fn run_length(tokens: &[Token], start: usize, marker: char) -> usize {
    tokens[start..]
        .iter()
        .take_while(|token| **token == Token::Marker(marker))
        .count()
}

/// A run of one marker in the tokens.
struct MarkerRun {
    start: usize,
    length: usize,
    marker: char,
}

/// Where the run closing `opening` starts: the first closing run of the same marker and
/// length after it, on the same line and inside `range` (the content being rendered).
fn closing_run(
    tokens: &[Token],
    range: &Range<usize>,
    opening: &MarkerRun,
    closing_runs: &ClosingRuns,
) -> Option<usize> {
    let content_start = opening.start + opening.length;
    let opens = (opening.start == range.start
        || is_boundary(&tokens[opening.start - 1], Side::Before))
        && content_start < range.end
        && !is_space(&tokens[content_start]);
    if !opens {
        return None;
    }
    closing_runs.first(opening, content_start + 1, range.end)
}

/// Every run of markers that can close a pair (after a non-space, before a boundary), found
/// in one pass so that pairing an opener is a binary search instead of a scan to the end
/// of its line.
struct ClosingRuns {
    /// Where each closing run starts, in order, by marker (as in [`EMPHASIS_MARKERS`]) and
    /// by length (1 to [`LONGEST_PAIRED_RUN`]; longer runs never pair).
    starts: [[Vec<usize>; LONGEST_PAIRED_RUN]; EMPHASIS_MARKERS.len()],
    /// Where each newline stands, in order: pairs never span one.
    newlines: Vec<usize>,
}

impl ClosingRuns {
    fn find(tokens: &[Token]) -> Self {
        let mut found = Self {
            starts: Default::default(),
            newlines: Vec::new(),
        };
        let mut index = 0;
        while index < tokens.len() {
            match &tokens[index] {
                Token::Newline => {
                    found.newlines.push(index);
                    index += 1;
                }
                Token::Marker(marker) => {
                    let run = run_length(tokens, index, *marker);
                    let closes = index > 0
                        && !is_space(&tokens[index - 1])
                        && tokens
                            .get(index + run)
                            .is_none_or(|after| is_boundary(after, Side::After));
                    if let Some(starts) = found.starts_of_mut(*marker, run).filter(|_| closes) {
                        starts.push(index);
                    }
                    index += run;
                }
                Token::Text(_) | Token::Verbatim { .. } => index += 1,
            }
        }
        found
    }

    fn starts_of_mut(&mut self, marker: char, run: usize) -> Option<&mut Vec<usize>> {
        let marker_index = EMPHASIS_MARKERS.iter().position(|known| *known == marker)?;
        self.starts[marker_index].get_mut(run.checked_sub(1)?)
    }

    /// The first run closing `opening` that starts in `from..until`, before the next
    /// newline.
    fn first(&self, opening: &MarkerRun, from: usize, until: usize) -> Option<usize> {
        let marker_index = EMPHASIS_MARKERS
            .iter()
            .position(|known| *known == opening.marker)?;
        let starts = self.starts[marker_index].get(opening.length.checked_sub(1)?)?;
        let candidate = *starts.get(starts.partition_point(|start| *start < from))?;
        let line_end = self
            .newlines
            .get(self.newlines.partition_point(|newline| *newline < from))
            .copied()
            .unwrap_or(usize::MAX);
        (candidate < until.min(line_end)).then_some(candidate)
    }
}

#[derive(Clone, Copy)]
enum Side {
    Before,
    After,
}

/// Whether `token`, standing on `side` of a marker, leaves the marker at a word boundary.
fn is_boundary(token: &Token, side: Side) -> bool {
    match token {
        Token::Newline | Token::Marker(_) => true,
        Token::Text(character) => !character.is_alphanumeric(),
        Token::Verbatim { before, after, .. } => {
            let touching = match side {
                Side::Before => after,
                Side::After => before,
            };
            !touching.is_alphanumeric()
        }
    }
}

fn is_space(token: &Token) -> bool {
    match token {
        Token::Newline => true,
        Token::Text(character) => character.is_whitespace(),
        Token::Marker(_) | Token::Verbatim { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (WhatsApp text, Chatwoot markdown) pairs converting into each other both ways.
    const BOTH_WAYS: &[(&str, &str)] = &[
        ("*bold*", "**bold**"),
        ("_italic_", "_italic_"),
        ("~strike~", "~~strike~~"),
        ("`inline code`", "`inline code`"),
        (
            "say *hello* to _everyone_ ~now~",
            "say **hello** to _everyone_ ~~now~~",
        ),
        ("*bold with spaces inside*", "**bold with spaces inside**"),
        ("*_bold italic_*", "**_bold italic_**"),
        ("_*italic bold*_", "_**italic bold**_"),
        ("~*struck bold*~", "~~**struck bold**~~"),
        ("*bold _and italic_ inside*", "**bold _and italic_ inside**"),
        ("(*parenthesised*)", "(**parenthesised**)"),
        ("*bold*, then _italic_.", "**bold**, then _italic_."),
        ("\"*quoted bold*\"", "\"**quoted bold**\""),
        ("*one* *two*", "**one** **two**"),
        ("*line one*\n_line two_", "**line one**\n_line two_"),
        (
            "> *quoted* text\n> second line",
            "> **quoted** text\n> second line",
        ),
        (
            "- first\n- *second*\n- third",
            "- first\n- **second**\n- third",
        ),
        ("1. one\n2. _two_\n3. three", "1. one\n2. _two_\n3. three"),
        ("* not bold\n* list item", "* not bold\n* list item"),
        ("*see `code` here*", "**see `code` here**"),
        ("`*not bold*` and *bold*", "`*not bold*` and **bold**"),
        ("snake_case_words stay", "snake_case_words stay"),
        ("2*3*4 = 24", "2*3*4 = 24"),
        ("2 * 3 * 4 = 24", "2 * 3 * 4 = 24"),
        ("a_b_c and x~y~z", "a_b_c and x~y~z"),
        (
            "https://example.com/some_path_with_underscores",
            "https://example.com/some_path_with_underscores",
        ),
        (
            "https://example.com/_under_/x",
            "https://example.com/_under_/x",
        ),
        (
            "see https://example.com/a*b*c.",
            "see https://example.com/a*b*c.",
        ),
        (
            "*visit https://example.com/a_b_c*",
            "**visit https://example.com/a_b_c**",
        ),
        ("www.example.com/~user~/", "www.example.com/~user~/"),
        ("mail first_last@example.com", "mail first_last@example.com"),
        ("*unmatched bold", "*unmatched bold"),
        ("unmatched_ italic", "unmatched_ italic"),
        ("* spaced *", "* spaced *"),
        ("*bold\nacross lines*", "*bold\nacross lines*"),
        ("**", "**"),
        ("* *", "* *"),
        ("*olá* _você_ ~ação~", "**olá** _você_ ~~ação~~"),
        ("*🎉 party 🎉*", "**🎉 party 🎉**"),
        ("🎉*emoji neighbours*🎉", "🎉**emoji neighbours**🎉"),
        ("*שלום* עולם", "**שלום** עולם"),
        ("_مرحبا_ بالعالم", "_مرحبا_ بالعالم"),
        ("*日本語*", "**日本語**"),
        ("price: 5*", "price: 5*"),
        ("`unclosed code", "`unclosed code"),
        ("```unclosed block", "```unclosed block"),
    ];

    #[test]
    fn the_table_converts_both_ways() {
        for (whatsapp, chatwoot) in BOTH_WAYS {
            assert_eq!(
                whatsapp_to_chatwoot(whatsapp),
                *chatwoot,
                "WhatsApp → Chatwoot: {whatsapp:?}"
            );
            assert_eq!(
                chatwoot_to_whatsapp(chatwoot),
                *whatsapp,
                "Chatwoot → WhatsApp: {chatwoot:?}"
            );
        }
        assert!(BOTH_WAYS.len() >= 40);
    }

    #[test]
    fn whatsapp_specific_cases_convert_to_chatwoot() {
        let cases: &[(&str, &str)] = &[
            ("```mono```", "`mono`"),
            ("use ```let x = 1;``` here", "use `let x = 1;` here"),
            ("```a`b```", "```a`b```"),
            ("```\nfn main() {}\n```", "```\nfn main() {}\n```"),
            (
                "```line *one*\nline _two_```",
                "```\nline *one*\nline _two_\n```",
            ),
            ("code: ```a\nb``` done", "code: \n```\na\nb\n```\n done"),
            ("```*not bold*```", "`*not bold*`"),
            ("**double**", "**double**"),
            ("__double__", "__double__"),
            ("~~double~~", "~~double~~"),
            ("\\*bold after a backslash*", "\\**bold after a backslash**"),
            ("***", "***"),
            ("*a *b* c*", "**a *b** c*"),
        ];
        for (whatsapp, chatwoot) in cases {
            assert_eq!(whatsapp_to_chatwoot(whatsapp), *chatwoot, "{whatsapp:?}");
        }
    }

    #[test]
    fn markdown_specific_cases_convert_to_whatsapp() {
        let cases: &[(&str, &str)] = &[
            ("*italic*", "_italic_"),
            ("__bold__", "*bold*"),
            ("***bold italic***", "*_bold italic_*"),
            ("~single tilde~", "~single tilde~"),
            ("**bold** and *italic*", "*bold* and _italic_"),
            ("```rust\nfn main() {}\n```", "```fn main() {}```"),
            (
                "```\nplain block\nsecond line\n```",
                "```plain block\nsecond line```",
            ),
            ("```hello\nworld```", "```hello\nworld```"),
            ("```**not bold**```", "```**not bold**```"),
            ("\\*not italic\\*", "*not italic*"),
            ("snake\\_case\\_name", "snake_case_name"),
            ("C:\\Users\\me", "C:\\Users\\me"),
            ("a \\\\ b", "a \\ b"),
            ("linha um\\\nlinha dois", "linha um\nlinha dois"),
            ("um\\\r\ndois\\\n\\\ntrês", "um\ndois\n\ntrês"),
            ("**negrito**\\\n\\*estrela\\*", "*negrito*\n*estrela*"),
            (
                "[our site](https://example.com/a_b)",
                "our site (https://example.com/a_b)",
            ),
            (
                "[https://example.com](https://example.com)",
                "https://example.com",
            ),
            (
                "**[bold link](https://x.io)**",
                "*bold link (https://x.io)*",
            ),
            ("[not a link] (x)", "[not a link] (x)"),
            ("[empty]()", "[empty]()"),
            ("****", "****"),
        ];
        for (chatwoot, whatsapp) in cases {
            assert_eq!(chatwoot_to_whatsapp(chatwoot), *whatsapp, "{chatwoot:?}");
        }
    }

    #[test]
    fn formatted_whatsapp_text_survives_a_round_trip() {
        let texts = [
            "*bold* _italic_ ~strike~ `code`",
            "*_nested_* and ~*more*~",
            "```line one\nline two```",
            "> *quote*\n- item\n1. item",
        ];
        for text in texts {
            let back = chatwoot_to_whatsapp(&whatsapp_to_chatwoot(text));
            assert_eq!(back, text, "{text:?}");
        }
    }

    /// A deterministic generator of plain texts: every character that is not a marker.
    fn plain_texts() -> Vec<String> {
        const ALPHABET: &[&str] = &[
            "a", "Z", "0", "9", " ", " ", "\n", ".", ",", "!", "?", "-", "+", "=", "(", ")", "/",
            ":", "@", "#", "%", "&", "'", "\"", "ã", "ç", "é", "ü", "ß", "🎉", "👍🏽", "中", "ש",
            "م", "\u{200f}", "\t", "> ", "- ", "1. ", "http", "www", "x.com", "|", "<", ">",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..500)
            .map(|_| {
                let length = next() % 40;
                (0..length)
                    .map(|_| {
                        let pick = usize::try_from(next() % ALPHABET.len() as u64).unwrap_or(0);
                        ALPHABET[pick]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn plain_text_is_unchanged_both_ways() {
        let samples = [
            "",
            "hello world",
            "Olá, tudo bem? Até amanhã.",
            "Price: 10 + 5 = 15 (approx.)",
            "line one\nline two\n\nline four",
            "👋🏽 emoji 🇧🇷 flags and ZWJ 👨‍👩‍👧",
            "مرحبا بالعالم",
            "שלום עולם",
            "ask me at someone@example.com",
            "https://example.com/path?query=1&b=2#frag",
        ];
        let generated = plain_texts();
        for text in samples
            .iter()
            .copied()
            .chain(generated.iter().map(String::as_str))
        {
            assert_eq!(whatsapp_to_chatwoot(text), text, "{text:?}");
            assert_eq!(chatwoot_to_whatsapp(text), text, "{text:?}");
        }
    }

    /// 256 KiB of hostile text, four times the largest WhatsApp message: the quadratic
    /// scanner this replaced spent minutes on each text below, the linear one spends
    /// milliseconds, so a regression hangs until nextest's slow-timeout kills it.
    const HOSTILE_TEXT_BYTES: usize = 256 * 1024;

    /// `unit` repeated after `prefix` up to [`HOSTILE_TEXT_BYTES`].
    fn hostile_text(prefix: &str, unit: &str) -> String {
        let mut text = prefix.to_owned();
        while text.len() + unit.len() <= HOSTILE_TEXT_BYTES {
            text.push_str(unit);
        }
        text
    }

    #[test]
    fn a_url_followed_by_many_closing_parentheses_converts_in_linear_time() {
        for prefix in ["http://a", "www.", "see https://x.io/(a)"] {
            let text = hostile_text(prefix, ")");
            assert_eq!(whatsapp_to_chatwoot(&text), text, "{prefix:?}");
            assert_eq!(chatwoot_to_whatsapp(&text), text, "{prefix:?}");
        }
    }

    #[test]
    fn many_unclosed_markers_on_one_line_convert_in_linear_time() {
        for unit in ["*a ", "_a ", "~a ", "**a ", "__a ", "***a ", "~~a "] {
            let text = hostile_text("", unit);
            assert_eq!(whatsapp_to_chatwoot(&text), text, "{unit:?}");
            assert_eq!(chatwoot_to_whatsapp(&text), text, "{unit:?}");
        }
    }

    #[test]
    fn many_unclosed_markdown_links_convert_in_linear_time() {
        for unit in ["[a](", "[a](b", "[a]([", "[](x"] {
            let text = hostile_text("", unit);
            assert_eq!(chatwoot_to_whatsapp(&text), text, "{unit:?}");
            assert_eq!(whatsapp_to_chatwoot(&text), text, "{unit:?}");
        }
    }

    #[test]
    fn signatures_put_the_agent_in_bold_on_their_own_line() {
        let cases: &[(&str, &str, &str)] = &[
            ("Maria Silva", "Olá!", "*Maria Silva*:\nOlá!"),
            ("  Maria   Silva  ", "Olá!", "*Maria Silva*:\nOlá!"),
            ("*Star* Agent", "hi", "*Star Agent*:\nhi"),
            ("***", "hi", "hi"),
            ("", "hi", "hi"),
            ("Ana\nBeatriz", "hi", "*Ana Beatriz*:\nhi"),
            (
                "José 🎧",
                "*bold* text\nsecond",
                "*José 🎧*:\n*bold* text\nsecond",
            ),
            ("snake_case", "hi", "*snake_case*:\nhi"),
            ("Agent", "", "*Agent*:\n"),
        ];
        for (agent, text, expected) in cases {
            assert_eq!(signed_for_whatsapp(agent, text), *expected, "{agent:?}");
        }
    }
}
