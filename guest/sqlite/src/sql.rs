//! SQL text helpers: identifier quoting and a small tokenizer that respects
//! quotes, comments and parentheses, used to read back the `CREATE`
//! statements SQLite keeps in `sqlite_schema` and to vet SQL fragments.
//!
//! Everything here works on any input: token boundaries always fall on ASCII
//! bytes or the end of the text, so slicing never splits a character.

use driverbox_guest_sdk::{Error, Result};

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A bare word: keyword or unquoted identifier.
    Word,
    /// A quoted identifier: `"x"`, `` `x` `` or `[x]`.
    Quoted,
    /// A string or blob literal: `'x'`, `x'00'`.
    Str,
    /// A numeric literal.
    Number,
    /// A bound parameter: `?`, `?1`, `:a`, `@a`, `$a`.
    Param,
    /// An operator or punctuation: `(`, `)`, `,`, `;`, `.`, `||`, `<=` ...
    Punct,
}

/// One token with its byte span in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The kind of token.
    pub kind: Tok,
    /// The token's text, quotes included.
    pub text: &'a str,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
}

impl Token<'_> {
    /// Whether this is the bare word `kw` (ASCII case-insensitive).
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == Tok::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// Whether this is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Tok::Punct && self.text == p
    }

    /// The name this token stands for: quotes removed and doubled quotes undone.
    pub fn unquoted(&self) -> String {
        unquote(self.text)
    }
}

/// Removes SQL quoting from an identifier or string token.
pub fn unquote(text: &str) -> String {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return String::new();
    };
    let close = match first {
        b'"' => b'"',
        b'`' => b'`',
        b'\'' => b'\'',
        b'[' => {
            let inner = text.strip_prefix('[').unwrap_or(text);
            return inner.strip_suffix(']').unwrap_or(inner).to_string();
        }
        _ => return text.to_string(),
    };
    let q = close as char;
    let inner = &text[1..];
    let inner = inner.strip_suffix(q).unwrap_or(inner);
    let doubled: String = [q, q].iter().collect();
    inner.replace(&doubled, &q.to_string())
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Splits SQL text into tokens, skipping whitespace and comments.
/// Unterminated quotes or comments run to the end of the text.
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = b[i];
        let start = i;
        let kind;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < n && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(n);
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(b, i, c);
                kind = if c == b'\'' { Tok::Str } else { Tok::Quoted };
            }
            b'[' => {
                while i < n && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(n);
                kind = Tok::Quoted;
            }
            b'x' | b'X' if b.get(i + 1) == Some(&b'\'') => {
                i = skip_quoted(b, i + 1, b'\'');
                kind = Tok::Str;
            }
            b'0'..=b'9' => {
                i = skip_number(b, i);
                kind = Tok::Number;
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = skip_number(b, i);
                kind = Tok::Number;
            }
            b'?' => {
                i += 1;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                kind = Tok::Param;
            }
            b':' | b'@' | b'$' if b.get(i + 1).is_some_and(|&x| is_ident_byte(x)) => {
                i += 1;
                while i < n && is_ident_byte(b[i]) {
                    i += 1;
                }
                kind = Tok::Param;
            }
            _ if is_ident_byte(c) => {
                while i < n && is_ident_byte(b[i]) {
                    i += 1;
                }
                kind = Tok::Word;
            }
            _ => {
                let two = b.get(i..i + 2).unwrap_or(&[]);
                let three = b.get(i..i + 3).unwrap_or(&[]);
                i += if three == b"->>" {
                    3
                } else if matches!(
                    two,
                    b"||" | b"<=" | b">=" | b"==" | b"!=" | b"<>" | b"<<" | b">>" | b"->"
                ) {
                    2
                } else {
                    1
                };
                kind = Tok::Punct;
            }
        }
        let end = i.min(n);
        out.push(Token {
            kind,
            text: sql.get(start..end).unwrap_or(""),
            start,
            end,
        });
    }
    out
}

/// Index just past a quoted run starting at `i` (which holds `q`);
/// a doubled quote stays inside.
fn skip_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
    i += 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn skip_number(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        let c = b[i];
        let exponent_sign = (c == b'+' || c == b'-') && matches!(b[i - 1], b'e' | b'E');
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Whether the text holds nothing but whitespace, comments and semicolons.
pub fn is_blank(sql: &str) -> bool {
    tokenize(sql).iter().all(|t| t.is_punct(";"))
}

/// Checks an identifier the caller gave: not empty and no NUL.
pub fn check_ident(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} name is empty")));
    }
    if name.contains('\0') {
        return Err(Error::invalid(format!("{what} name contains a NUL character")));
    }
    Ok(())
}

/// `"name"` with inner `"` doubled. Refuses empty and NUL-containing names.
pub fn quote_ident(name: &str) -> Result<String> {
    check_ident("identifier", name)?;
    Ok(quote_unchecked(name))
}

/// Quotes a name known to be valid (read from the database itself).
pub fn quote_unchecked(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with inner `'` doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"schema"."name"`, both quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_unchecked(schema), quote_unchecked(name))
}

/// Vets a SQL fragment the caller gave for a spot inside our own statement
/// (a type, a default, a conversion expression): it must not be empty,
/// must not hold comments, NUL, unbalanced parentheses or a top-level
/// `;` or `,`, so it cannot end our statement or swallow its tail.
pub fn check_fragment(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if text.contains('\0') {
        return Err(Error::invalid(format!("{what} contains a NUL character")));
    }
    let tokens = tokenize(text);
    // Comments are the only non-blank text the tokenizer skips.
    let visible = text.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let in_tokens: usize = tokens
        .iter()
        .map(|t| t.text.bytes().filter(|b| !b.is_ascii_whitespace()).count())
        .sum();
    if in_tokens != visible {
        return Err(Error::invalid(format!("{what} must not contain comments")));
    }
    if tokens
        .iter()
        .any(|t| matches!(t.kind, Tok::Str | Tok::Quoted) && !is_closed(t.text))
    {
        return Err(Error::invalid(format!("{what} has an unterminated quote")));
    }
    let mut depth: i64 = 0;
    for t in &tokens {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth < 0 {
                return Err(Error::invalid(format!("{what} has unbalanced parentheses")));
            }
        } else if depth == 0 && (t.is_punct(";") || t.is_punct(",")) {
            return Err(Error::invalid(format!(
                "{what} must be a single item: `{}` found",
                t.text
            )));
        }
    }
    if depth != 0 {
        return Err(Error::invalid(format!("{what} has unbalanced parentheses")));
    }
    Ok(())
}

/// Whether a quoted token ends with its closing quote.
fn is_closed(text: &str) -> bool {
    let b = text.as_bytes();
    let (start, q) = match b.first() {
        Some(b'[') => return b.len() >= 2 && b.last() == Some(&b']'),
        Some(b'x' | b'X') => (1, b'\''),
        Some(&q) => (0, q),
        None => return false,
    };
    start < b.len() && ends_closed(b, start, q)
}

/// Re-scans a quoted run and tells whether its last byte closes it.
fn ends_closed(b: &[u8], start: usize, q: u8) -> bool {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1 == b.len();
        }
        i += 1;
    }
    false
}

/// Index of the token that closes the parenthesis opened at `open`
/// (or `tokens.len()` when it is never closed).
pub fn matching_paren(tokens: &[Token<'_>], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len()
}

/// Splits `tokens` at top-level commas (depth 0 relative to the slice).
pub fn split_commas<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut from = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is_punct(",") {
            parts.push(&tokens[from..i]);
            from = i + 1;
        }
    }
    if from < tokens.len() {
        parts.push(&tokens[from..]);
    }
    parts
}

/// The source text covered by a run of tokens (comments inside kept).
pub fn span_text<'a>(sql: &'a str, tokens: &[Token<'_>]) -> &'a str {
    match (tokens.first(), tokens.last()) {
        (Some(a), Some(b)) => sql.get(a.start..b.end).unwrap_or(""),
        _ => "",
    }
}

/// Whether a token names an identifier (bare word or quoted).
pub fn is_name(t: &Token<'_>) -> bool {
    matches!(t.kind, Tok::Word | Tok::Quoted | Tok::Str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Tok, &str)> {
        tokenize(sql).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn tokenizes_quotes_comments_and_operators() {
        let t = kinds(
            r#"SELECT "a""b", 'it''s', [x y], `q`, x'0A' -- c
            /* block */ FROM t WHERE a<=?1 AND b->>'$.k' || :n"#,
        );
        assert_eq!(
            t,
            vec![
                (Tok::Word, "SELECT"),
                (Tok::Quoted, "\"a\"\"b\""),
                (Tok::Punct, ","),
                (Tok::Str, "'it''s'"),
                (Tok::Punct, ","),
                (Tok::Quoted, "[x y]"),
                (Tok::Punct, ","),
                (Tok::Quoted, "`q`"),
                (Tok::Punct, ","),
                (Tok::Str, "x'0A'"),
                (Tok::Word, "FROM"),
                (Tok::Word, "t"),
                (Tok::Word, "WHERE"),
                (Tok::Word, "a"),
                (Tok::Punct, "<="),
                (Tok::Param, "?1"),
                (Tok::Word, "AND"),
                (Tok::Word, "b"),
                (Tok::Punct, "->>"),
                (Tok::Str, "'$.k'"),
                (Tok::Punct, "||"),
                (Tok::Param, ":n"),
            ]
        );
        assert_eq!(kinds("1.5e-3 .5"), vec![(Tok::Number, "1.5e-3"), (Tok::Number, ".5")]);
    }

    #[test]
    fn unquotes() {
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("`a``b`"), "a`b");
        assert_eq!(unquote("[a b]"), "a b");
        assert_eq!(unquote("'it''s'"), "it's");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("\""), "");
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "'", "\"", "[", "/*", "--", "x'", "é'€", "a€b(", "1e+", "?", ":", "\u{0}",
        ] {
            let _ = tokenize(s);
            let _ = is_blank(s);
            let _ = check_fragment("f", s);
        }
        assert!(is_blank(" ; -- x\n /* y */ ;"));
        assert!(!is_blank("; select 1"));
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert!(quote_ident("").is_err());
        assert!(quote_ident("a\0b").is_err());
        assert_eq!(qualified("main", "t"), "\"main\".\"t\"");
    }

    #[test]
    fn vets_fragments() {
        assert!(check_fragment("type", "VARCHAR(20)").is_ok());
        assert!(check_fragment("type", "DECIMAL(10, 2)").is_ok());
        assert!(check_fragment("default", "'a;b'").is_ok());
        assert!(check_fragment("default", "(1 + 2)").is_ok());
        assert!(check_fragment("type", "INT; DROP TABLE t").is_err());
        assert!(check_fragment("type", "INT -- x").is_err());
        assert!(check_fragment("type", "INT /* x").is_err());
        assert!(check_fragment("type", "INT)").is_err());
        assert!(check_fragment("type", "INT, b TEXT").is_err());
        assert!(check_fragment("default", "'open").is_err());
        assert!(check_fragment("default", "'a''").is_err());
        assert!(check_fragment("default", "x'0a'").is_ok());
        assert!(check_fragment("default", "\"q").is_err());
        assert!(check_fragment("default", "  ").is_err());
    }

    #[test]
    fn splits_at_top_level_commas() {
        let sql = "a INT, b DECIMAL(10, 2), CHECK (a > 0)";
        let toks = tokenize(sql);
        let parts: Vec<&str> = split_commas(&toks).iter().map(|p| span_text(sql, p)).collect();
        assert_eq!(parts, vec!["a INT", "b DECIMAL(10, 2)", "CHECK (a > 0)"]);
        let toks = tokenize("(a (b) c) d");
        assert_eq!(matching_paren(&toks, 0), 6);
    }
}
