//! mongosh's relaxed syntax, read without running JavaScript.
//!
//! Values are JavaScript object literals as mongosh accepts them: unquoted
//! or quoted keys, single, double or back quotes, trailing commas,
//! comments, regular expression literals, and the shell's constructors
//! (`ObjectId("…")`, `ISODate("…")`, `NumberLong(…)`, `NumberDecimal("…")`
//! …). A number becomes BSON as mongosh's serializer makes it: an integer
//! within the 32-bit range is an `int`, any other number a `double`.
//!
//! Statements are `db.<collection>.<method>(…)` with the cursor methods
//! chained after `find` and `aggregate`, `db.<method>(…)` for the database,
//! and the shell's `show dbs`, `show collections`, `use DB`, `it` and
//! `exit`. Every error names its line and column (1-based, in characters).

use bson::{Bson, Document};

/// Where parsing or checking a statement failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 1-based position in the whole text, in characters (for a caret).
    pub position: usize,
    pub message: String,
}

impl SyntaxError {
    /// The error of a statement found at byte `offset` of `text`, placed in `text`.
    pub fn shifted(&self, text: &str, offset: usize) -> SyntaxError {
        let before = &text[..offset.min(text.len())];
        let column = if self.line == 1 {
            before.rsplit('\n').next().unwrap_or("").chars().count() + self.column
        } else {
            self.column
        };
        SyntaxError {
            line: self.line + before.matches('\n').count(),
            column,
            position: before.chars().count() + self.position,
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "syntax error at line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A statement of the shell or of `driverbox query`.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `show dbs` / `show databases`.
    ShowDatabases,
    /// `show collections` / `show tables`.
    ShowCollections,
    /// `use DB`.
    Use(String),
    /// `it`: the next batch of the last cursor.
    It,
    /// `exit`, `quit`, `exit()`, `quit()`.
    Exit,
    Operation(Box<Operation>),
}

/// Paging and shaping of a `find`, from its arguments and cursor methods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindShape {
    pub projection: Option<Document>,
    pub sort: Option<Document>,
    /// `None`: no limit (mongosh's `limit(0)`).
    pub limit: Option<u64>,
    pub skip: Option<u64>,
    pub batch_size: Option<u32>,
}

/// A database operation, as the driver's `nosql` operations run it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `find(filter, projection)` and its cursor methods; `one` for `findOne`.
    Find {
        collection: String,
        filter: Document,
        shape: FindShape,
        one: bool,
    },
    /// `find(…).count()`, `countDocuments(filter)`: exact.
    CountDocuments {
        collection: String,
        filter: Document,
    },
    /// `estimatedDocumentCount()`: from collection metadata.
    EstimatedDocumentCount {
        collection: String,
    },
    Aggregate {
        collection: String,
        pipeline: Vec<Document>,
    },
    /// `insertOne` (`one`) and `insertMany`.
    Insert {
        collection: String,
        documents: Vec<Document>,
        ordered: bool,
        one: bool,
    },
    /// `updateOne`, `updateMany`, `replaceOne`; `update` is a document or,
    /// for updates with a pipeline, an array.
    Update {
        collection: String,
        filter: Document,
        update: Bson,
        many: bool,
        upsert: bool,
    },
    Delete {
        collection: String,
        filter: Document,
        many: bool,
    },
    Distinct {
        collection: String,
        field: String,
        filter: Document,
    },
    CreateIndex {
        collection: String,
        keys: Document,
        options: Document,
    },
    GetIndexes {
        collection: String,
    },
    DropIndex {
        collection: String,
        name: String,
    },
    /// `db.c.drop()`.
    Drop {
        collection: String,
    },
    /// `db.c.stats()`.
    Stats {
        collection: String,
    },
    /// `db.runCommand(…)` (`database: None`) and `db.adminCommand(…)`.
    RunCommand {
        database: Option<String>,
        command: Document,
    },
    /// `db.getCollectionNames()`.
    CollectionNames,
    CreateCollection {
        name: String,
        options: Document,
    },
    DropDatabase,
    /// `db.getName()`.
    DatabaseName,
}

/// Parses one statement (a trailing `;` is allowed).
pub fn parse_statement(text: &str) -> Result<Statement, SyntaxError> {
    let mut p = Parser { text, at: 0 };
    let statement = p.statement()?;
    p.skip_blank()?;
    if p.peek() == Some(';') {
        p.at += 1;
        p.skip_blank()?;
    }
    if let Some(c) = p.peek() {
        return Err(p.error_at(p.at, format!("unexpected {} after the statement", describe(c))));
    }
    Ok(statement)
}

/// Parses one value (an object literal, an array, a constructor …).
#[cfg(test)]
pub fn parse_value(text: &str) -> Result<Bson, SyntaxError> {
    let mut p = Parser { text, at: 0 };
    let value = p.value()?.value;
    p.skip_blank()?;
    if let Some(c) = p.peek() {
        return Err(p.error_at(p.at, format!("unexpected {} after the value", describe(c))));
    }
    Ok(value)
}

/// Whether `text` is a statement still being typed: an open bracket,
/// string or comment, or a chain ending in `.` (the shell then reads
/// another line). Complete or wrong statements are not incomplete.
pub fn is_incomplete(text: &str) -> bool {
    let mut depth = 0i64;
    let mut chars = text.chars().peekable();
    let mut last = None;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    } else if d == '\n' && c != '`' {
                        break;
                    }
                }
                if !closed {
                    return c == '`';
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.next_if(|d| *d != '\n').is_some() {}
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                let mut closed = false;
                for d in chars.by_ref() {
                    if star && d == '/' {
                        closed = true;
                        break;
                    }
                    star = d == '*';
                }
                if !closed {
                    return true;
                }
                continue;
            }
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
        if !c.is_whitespace() {
            last = Some(c);
        }
    }
    depth > 0 || matches!(last, Some('.' | ','))
}

/// Splits a text into statements at top-level `;` and at line ends where
/// nothing is open (as mongosh runs what is typed line by line). Each part
/// comes with its byte offset in `text`.
pub fn split_statements(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut depth = 0i64;
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        match c {
            '\'' | '"' | '`' => {
                i += 1;
                while i < bytes.len() && bytes[i].1 != c {
                    if bytes[i].1 == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '/' if bytes.get(i + 1).map(|b| b.1) == Some('/') => {
                while i < bytes.len() && bytes[i].1 != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if bytes.get(i + 1).map(|b| b.1) == Some('*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i].1 == '*' && bytes.get(i + 1).map(|b| b.1) == Some('/')) {
                    i += 1;
                }
                i += 1;
            }
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ';' if depth <= 0 => {
                parts.push((start, &text[start..at]));
                start = at + 1;
                depth = 0;
            }
            '\n' if depth <= 0 => {
                // A line that ends a statement, unless the next non-blank
                // text continues the chain (`.sort(…)` on its own line).
                let rest = text[at..].trim_start();
                let before = text[start..at].trim_end();
                if !rest.starts_with('.') && !before.ends_with(['.', ',']) {
                    parts.push((start, &text[start..at]));
                    start = at + 1;
                    depth = 0;
                }
            }
            _ => {}
        }
        i += 1;
    }
    parts.push((start, &text[start..]));
    parts
        .into_iter()
        .filter(|(_, s)| !s.trim().is_empty() && !is_only_comment(s))
        .collect()
}

fn is_only_comment(s: &str) -> bool {
    let mut p = Parser { text: s, at: 0 };
    p.skip_blank().is_ok() && p.peek().is_none()
}

fn describe(c: char) -> String {
    if c.is_control() {
        format!("character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// A value with the byte offset it starts at; numbers keep their text
/// (for `NumberLong("…")`-style constructors given a bare number).
struct Arg {
    value: Bson,
    at: usize,
    number_text: Option<String>,
}

/// One step of a `db.…` chain: `.name`, `["name"]`, or a call of it.
struct Link {
    name: String,
    at: usize,
    args: Option<Vec<Arg>>,
    /// Where the argument list ends (`)`), for "missing argument" errors.
    close: usize,
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn error_at(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        error_at(self.text, at, message)
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.text[self.at..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    /// Skips white space and comments.
    fn skip_blank(&mut self) -> Result<(), SyntaxError> {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.at;
                    match self.text[self.at + 2..].find("*/") {
                        Some(end) => self.at += 2 + end + 2,
                        None => return Err(self.error_at(start, "unterminated comment")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), SyntaxError> {
        self.skip_blank()?;
        match self.peek() {
            Some(d) if d == c => {
                self.bump();
                Ok(())
            }
            Some(d) => Err(self.error_at(self.at, format!("expected '{c}' {what}, found {}", describe(d)))),
            None => Err(self.error_at(self.at, format!("expected '{c}' {what}, found the end of the input"))),
        }
    }

    fn identifier(&mut self) -> Option<String> {
        let start = self.at;
        if !self.peek().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$') {
            return None;
        }
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            self.bump();
        }
        Some(self.text[start..self.at].to_string())
    }

    fn statement(&mut self) -> Result<Statement, SyntaxError> {
        self.skip_blank()?;
        let start = self.at;
        let Some(word) = self.identifier() else {
            return Err(match self.peek() {
                Some(c) => self.error_at(
                    start,
                    format!(
                        "expected db.<collection>.<method>(…), show, use or it; found {}",
                        describe(c)
                    ),
                ),
                None => self.error_at(start, "empty statement"),
            });
        };
        match word.as_str() {
            "db" => {
                let links = self.chain()?;
                resolve(self.text, start, links).map(|op| Statement::Operation(Box::new(op)))
            }
            "show" => {
                self.skip_blank()?;
                let at = self.at;
                match self.identifier().as_deref() {
                    Some("dbs" | "databases") => Ok(Statement::ShowDatabases),
                    Some("collections" | "tables") => Ok(Statement::ShowCollections),
                    _ => Err(self.error_at(at, "expected show dbs, show databases, show collections or show tables")),
                }
            }
            "use" => {
                self.skip_blank()?;
                let at = self.at;
                while self.peek().is_some_and(|c| !c.is_whitespace() && c != ';') {
                    self.bump();
                }
                let name = &self.text[at..self.at];
                if name.is_empty() {
                    return Err(self.error_at(at, "expected a database name after use"));
                }
                if let Some(bad) = name.chars().find(|c| "/\\. \"$".contains(*c)) {
                    return Err(self.error_at(at, format!("a database name cannot contain {}", describe(bad))));
                }
                Ok(Statement::Use(name.to_string()))
            }
            "it" => Ok(Statement::It),
            "exit" | "quit" => {
                self.skip_blank()?;
                if self.peek() == Some('(') {
                    self.bump();
                    self.expect(')', "to close exit(")?;
                }
                Ok(Statement::Exit)
            }
            _ => Err(self.error_at(
                start,
                format!("unknown name '{word}': expected db.<collection>.<method>(…), show, use or it"),
            )),
        }
    }

    /// The links after `db`.
    fn chain(&mut self) -> Result<Vec<Link>, SyntaxError> {
        let mut links: Vec<Link> = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some('.') => {
                    self.bump();
                    self.skip_blank()?;
                    let at = self.at;
                    let name = self
                        .identifier()
                        .ok_or_else(|| self.error_at(at, "expected a name after '.'"))?;
                    links.push(Link {
                        name,
                        at,
                        args: None,
                        close: at,
                    });
                }
                Some('[') => {
                    self.bump();
                    self.skip_blank()?;
                    let at = self.at;
                    let name = match self.peek() {
                        Some(q @ ('\'' | '"' | '`')) => self.string(q)?,
                        _ => return Err(self.error_at(at, "expected a quoted name inside [ ]")),
                    };
                    self.expect(']', "after the name")?;
                    links.push(Link {
                        name,
                        at,
                        args: None,
                        close: at,
                    });
                }
                Some('(') => {
                    let at = self.at;
                    let Some(last) = links.last_mut().filter(|l| l.args.is_none()) else {
                        return Err(self.error_at(at, "expected a method name before '('"));
                    };
                    self.bump();
                    let mut args = Vec::new();
                    loop {
                        self.skip_blank()?;
                        if self.peek() == Some(')') {
                            break;
                        }
                        args.push(self.value()?);
                        self.skip_blank()?;
                        match self.peek() {
                            Some(',') => {
                                self.bump();
                            }
                            Some(')') => break,
                            Some(c) => {
                                return Err(self.error_at(
                                    self.at,
                                    format!(
                                        "expected ',' or ')' in the arguments of {}, found {}",
                                        last.name,
                                        describe(c)
                                    ),
                                ))
                            }
                            None => {
                                return Err(self.error_at(
                                    self.at,
                                    format!("expected ')' to close the arguments of {}", last.name),
                                ))
                            }
                        }
                    }
                    last.close = self.at;
                    self.bump();
                    last.args = Some(args);
                }
                _ => return Ok(links),
            }
        }
    }

    fn value(&mut self) -> Result<Arg, SyntaxError> {
        self.skip_blank()?;
        let at = self.at;
        let plain = |value: Bson| Arg {
            value,
            at,
            number_text: None,
        };
        match self.peek() {
            None => Err(self.error_at(at, "expected a value, found the end of the input")),
            Some('{') => self.object().map(|d| plain(Bson::Document(d))),
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_blank()?;
                    if self.peek() == Some(']') {
                        self.bump();
                        return Ok(plain(Bson::Array(items)));
                    }
                    items.push(self.value()?.value);
                    self.skip_blank()?;
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(']') => {}
                        Some(c) => {
                            return Err(self.error_at(
                                self.at,
                                format!("expected ',' or ']' in an array, found {}", describe(c)),
                            ))
                        }
                        None => return Err(self.error_at(at, "unclosed '[': expected ']'")),
                    }
                }
            }
            Some(q @ ('\'' | '"' | '`')) => self.string(q).map(|s| plain(Bson::String(s))),
            Some('/') => self.regex().map(plain),
            Some(c) if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' => {
                let (text, value) = self.number()?;
                Ok(Arg {
                    value,
                    at,
                    number_text: Some(text),
                })
            }
            Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {
                let mut name = self.identifier().unwrap_or_default();
                if name == "new" {
                    self.skip_blank()?;
                    let n = self.at;
                    name = self
                        .identifier()
                        .ok_or_else(|| self.error_at(n, "expected a constructor name after new"))?;
                }
                match name.as_str() {
                    "true" => return Ok(plain(Bson::Boolean(true))),
                    "false" => return Ok(plain(Bson::Boolean(false))),
                    "null" | "undefined" => return Ok(plain(Bson::Null)),
                    "NaN" => return Ok(plain(Bson::Double(f64::NAN))),
                    "Infinity" => return Ok(plain(Bson::Double(f64::INFINITY))),
                    _ => {}
                }
                self.skip_blank()?;
                if self.peek() != Some('(') {
                    return match name.as_str() {
                        "MinKey" => Ok(plain(Bson::MinKey)),
                        "MaxKey" => Ok(plain(Bson::MaxKey)),
                        _ => Err(self.error_at(
                            at,
                            format!("unknown name '{name}': variables are not supported, only literals and the shell's constructors"),
                        )),
                    };
                }
                self.bump();
                let mut args = Vec::new();
                loop {
                    self.skip_blank()?;
                    if self.peek() == Some(')') {
                        self.bump();
                        break;
                    }
                    args.push(self.value()?);
                    self.skip_blank()?;
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(')') => {}
                        _ => return Err(self.error_at(self.at, format!("expected ',' or ')' in {name}(…)"))),
                    }
                }
                constructor(self.text, &name, at, &args).map(plain)
            }
            Some(c) => Err(self.error_at(at, format!("expected a value, found {}", describe(c)))),
        }
    }

    fn object(&mut self) -> Result<Document, SyntaxError> {
        let open = self.at;
        self.bump();
        let mut doc = Document::new();
        loop {
            self.skip_blank()?;
            let at = self.at;
            let key = match self.peek() {
                Some('}') => {
                    self.bump();
                    return Ok(doc);
                }
                Some(q @ ('\'' | '"' | '`')) => self.string(q)?,
                Some(c) if c.is_ascii_digit() => {
                    let (text, _) = self.number()?;
                    text
                }
                Some(_) => match self.identifier() {
                    Some(k) => k,
                    None => {
                        let c = self.peek().unwrap_or(' ');
                        return Err(self.error_at(at, format!("expected a key or '}}', found {}", describe(c))));
                    }
                },
                None => return Err(self.error_at(open, "unclosed '{': expected '}'")),
            };
            if key.contains('\0') {
                return Err(self.error_at(at, "a key cannot contain a NUL character"));
            }
            self.expect(':', &format!("after the key '{key}'"))?;
            let value = self.value()?.value;
            doc.insert(key, value);
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                Some(c) => {
                    return Err(self.error_at(
                        self.at,
                        format!("expected ',' or '}}' in an object, found {}", describe(c)),
                    ))
                }
                None => return Err(self.error_at(open, "unclosed '{': expected '}'")),
            }
        }
    }

    /// A quoted string (`'…'`, `"…"` or `` `…` `` without substitutions) with JavaScript escapes.
    fn string(&mut self, quote: char) -> Result<String, SyntaxError> {
        let start = self.at;
        self.bump();
        let mut out = String::new();
        loop {
            let at = self.at;
            match self.bump() {
                None => return Err(self.error_at(start, "unterminated string")),
                Some(c) if c == quote => return Ok(out),
                Some('\n') if quote != '`' => return Err(self.error_at(start, "unterminated string")),
                Some('$') if quote == '`' && self.peek() == Some('{') => {
                    return Err(self.error_at(at, "template substitutions (${…}) are not supported"))
                }
                Some('\\') => match self.bump() {
                    None => return Err(self.error_at(start, "unterminated string")),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('v') => out.push('\u{b}'),
                    Some('0') if !self.peek().is_some_and(|c| c.is_ascii_digit()) => out.push('\0'),
                    Some('\n') => {}
                    Some('\r') => {
                        if self.peek() == Some('\n') {
                            self.bump();
                        }
                    }
                    Some('x') => {
                        let code = self.hex_digits(2, at)?;
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    Some('u') => {
                        let code = if self.peek() == Some('{') {
                            self.bump();
                            let s = self.at;
                            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                self.bump();
                            }
                            let code = u32::from_str_radix(&self.text[s..self.at], 16).ok();
                            if self.bump() != Some('}') || code.is_none_or(|c| c > 0x10ffff) {
                                return Err(self.error_at(at, "invalid \\u{…} escape"));
                            }
                            code.unwrap_or(0)
                        } else {
                            let high = self.hex_digits(4, at)?;
                            if (0xd800..0xdc00).contains(&high) && self.text[self.at..].starts_with("\\u") {
                                let save = self.at;
                                self.at += 2;
                                match self.hex_digits(4, at) {
                                    Ok(low) if (0xdc00..0xe000).contains(&low) => {
                                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                                    }
                                    _ => {
                                        self.at = save;
                                        high
                                    }
                                }
                            } else {
                                high
                            }
                        };
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    Some(c) => out.push(c),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn hex_digits(&mut self, n: usize, escape: usize) -> Result<u32, SyntaxError> {
        let s = self.at;
        for _ in 0..n {
            if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                return Err(self.error_at(escape, "invalid escape: expected hexadecimal digits"));
            }
            self.bump();
        }
        u32::from_str_radix(&self.text[s..self.at], 16).map_err(|_| self.error_at(escape, "invalid escape"))
    }

    /// A number as JavaScript writes it; its text and its BSON value.
    fn number(&mut self) -> Result<(String, Bson), SyntaxError> {
        let start = self.at;
        let negative = match self.peek() {
            Some('-') => {
                self.bump();
                true
            }
            Some('+') => {
                self.bump();
                false
            }
            _ => false,
        };
        self.skip_blank()?;
        let digits = self.at;
        if self.text[self.at..].starts_with("Infinity") {
            self.at += "Infinity".len();
            let v = if negative { f64::NEG_INFINITY } else { f64::INFINITY };
            return Ok((self.text[start..self.at].to_string(), Bson::Double(v)));
        }
        let value = if self.text[self.at..].starts_with("0x") || self.text[self.at..].starts_with("0X") {
            self.at += 2;
            let h = self.at;
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.bump();
            }
            let n = u64::from_str_radix(&self.text[h..self.at], 16)
                .map_err(|_| self.error_at(start, "invalid hexadecimal number"))?;
            n as f64
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.peek() == Some('.') {
                self.bump();
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            let t = &self.text[digits..self.at];
            t.parse::<f64>()
                .ok()
                .filter(|_| t.chars().any(|c| c.is_ascii_digit()))
                .ok_or_else(|| self.error_at(start, format!("invalid number '{}'", &self.text[start..self.at])))?
        };
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return Err(self.error_at(self.at, "invalid number: a letter right after the digits"));
        }
        let value = if negative { -value } else { value };
        let text: String = self.text[start..self.at]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        Ok((text, js_number(value)))
    }

    fn regex(&mut self) -> Result<Bson, SyntaxError> {
        let start = self.at;
        self.bump();
        let mut pattern = String::new();
        let mut in_class = false;
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.error_at(start, "unterminated regular expression")),
                Some('\\') => {
                    pattern.push('\\');
                    match self.bump() {
                        Some(c) if c != '\n' => pattern.push(c),
                        _ => return Err(self.error_at(start, "unterminated regular expression")),
                    }
                }
                Some('[') => {
                    in_class = true;
                    pattern.push('[');
                }
                Some(']') => {
                    in_class = false;
                    pattern.push(']');
                }
                Some('/') if !in_class => break,
                Some(c) => pattern.push(c),
            }
        }
        let f = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.bump();
        }
        regex(self.text, f, &pattern, &self.text[f..self.at])
    }
}

fn error_at(text: &str, at: usize, message: impl Into<String>) -> SyntaxError {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    SyntaxError {
        line,
        column,
        position: before.chars().count() + 1,
        message: message.into(),
    }
}

/// The BSON of a JavaScript number, as mongosh's serializer makes it.
fn js_number(v: f64) -> Bson {
    if v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64 && !(v == 0.0 && v.is_sign_negative()) {
        Bson::Int32(v as i32)
    } else {
        Bson::Double(v)
    }
}

fn regex(text: &str, at: usize, pattern: &str, flags: &str) -> Result<Bson, SyntaxError> {
    // JavaScript's `g` and `y` mean nothing to the server; mongosh drops them too.
    let mut options: Vec<char> = flags.chars().filter(|c| !matches!(c, 'g' | 'y')).collect();
    if let Some(bad) = options.iter().find(|c| !"imsux".contains(**c)) {
        return Err(error_at(text, at, format!("unknown regular expression flag '{bad}'")));
    }
    options.sort_unstable();
    options.dedup();
    let options: String = options.into_iter().collect();
    let pattern = bson::raw::CString::try_from(pattern.to_string())
        .map_err(|_| error_at(text, at, "a regular expression cannot contain a NUL character"))?;
    let options = bson::raw::CString::try_from(options).map_err(|_| error_at(text, at, "bad flags"))?;
    Ok(Bson::RegularExpression(bson::Regex { pattern, options }))
}

/// `ISODate` text as mongosh reads it: a date alone is midnight UTC, a
/// time without a zone is UTC, seconds may be left out.
fn iso_date(s: &str) -> Option<bson::DateTime> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, t),
        None => (s, "00:00:00Z"),
    };
    let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let clock = if clock.matches(':').count() == 1 {
        format!("{clock}:00")
    } else {
        clock.to_string()
    };
    let zone = match zone {
        "" => "Z".to_string(),
        z if z.len() == 5 && !z.contains(':') => format!("{}:{}", &z[..3], &z[3..]),
        z if z.len() == 3 => format!("{z}:00"),
        z => z.to_string(),
    };
    bson::DateTime::parse_rfc3339_str(format!("{date}T{clock}{zone}")).ok()
}

fn string_arg<'a>(text: &str, name: &str, at: usize, args: &'a [Arg], i: usize) -> Result<&'a str, SyntaxError> {
    match args.get(i) {
        Some(Arg {
            value: Bson::String(s), ..
        }) => Ok(s),
        Some(a) => Err(error_at(text, a.at, format!("{name}: expected a string"))),
        None => Err(error_at(text, at, format!("{name}: missing argument"))),
    }
}

/// The text of a number or string argument (`NumberLong(5)`, `NumberLong("5")`).
fn numeric_text(text: &str, name: &str, at: usize, args: &[Arg]) -> Result<String, SyntaxError> {
    match args.first() {
        Some(Arg {
            value: Bson::String(s), ..
        }) => Ok(s.trim().to_string()),
        Some(Arg {
            number_text: Some(t), ..
        }) => Ok(t.clone()),
        Some(a) => Err(error_at(text, a.at, format!("{name}: expected a number or a string"))),
        None => Err(error_at(text, at, format!("{name}: missing argument"))),
    }
}

fn too_many(text: &str, name: &str, args: &[Arg], max: usize) -> Result<(), SyntaxError> {
    match args.get(max) {
        Some(a) => Err(error_at(
            text,
            a.at,
            format!("{name}: too many arguments (at most {max})"),
        )),
        None => Ok(()),
    }
}

/// The shell's constructors.
fn constructor(text: &str, name: &str, at: usize, args: &[Arg]) -> Result<Bson, SyntaxError> {
    let bad = |at: usize, m: String| error_at(text, at, m);
    let first_at = args.first().map_or(at, |a| a.at);
    match name {
        "ObjectId" => {
            too_many(text, name, args, 1)?;
            if args.is_empty() {
                return Ok(Bson::ObjectId(bson::oid::ObjectId::new()));
            }
            let hex = string_arg(text, name, at, args, 0)?;
            bson::oid::ObjectId::parse_str(hex)
                .map(Bson::ObjectId)
                .map_err(|_| bad(first_at, format!("ObjectId: '{hex}' is not 24 hexadecimal digits")))
        }
        "ISODate" | "Date" => {
            too_many(text, name, args, 1)?;
            match args.first() {
                None => Ok(Bson::DateTime(bson::DateTime::now())),
                Some(Arg {
                    value: Bson::String(s), ..
                }) => iso_date(s)
                    .map(Bson::DateTime)
                    .ok_or_else(|| bad(first_at, format!("{name}: '{s}' is not an ISO 8601 date"))),
                Some(Arg {
                    value: Bson::Int32(n), ..
                }) => Ok(Bson::DateTime(bson::DateTime::from_millis(*n as i64))),
                Some(Arg {
                    value: Bson::Double(f), ..
                }) if f.is_finite() => Ok(Bson::DateTime(bson::DateTime::from_millis(*f as i64))),
                Some(a) => Err(bad(a.at, format!("{name}: expected a date string or milliseconds"))),
            }
        }
        "NumberLong" | "Long" => {
            too_many(text, name, args, 1)?;
            let t = numeric_text(text, name, at, args)?;
            t.parse::<i64>()
                .map(Bson::Int64)
                .map_err(|_| bad(first_at, format!("{name}: '{t}' is not a 64-bit integer")))
        }
        "NumberInt" | "Int32" => {
            too_many(text, name, args, 1)?;
            let t = numeric_text(text, name, at, args)?;
            t.parse::<i32>()
                .map(Bson::Int32)
                .map_err(|_| bad(first_at, format!("{name}: '{t}' is not a 32-bit integer")))
        }
        "Double" => {
            too_many(text, name, args, 1)?;
            let t = numeric_text(text, name, at, args)?;
            t.parse::<f64>()
                .map(Bson::Double)
                .map_err(|_| bad(first_at, format!("{name}: '{t}' is not a number")))
        }
        "NumberDecimal" | "Decimal128" => {
            too_many(text, name, args, 1)?;
            let t = numeric_text(text, name, at, args)?;
            t.parse::<bson::Decimal128>()
                .map(Bson::Decimal128)
                .map_err(|_| bad(first_at, format!("{name}: '{t}' is not a decimal number")))
        }
        "Timestamp" => {
            let (t, i) = match args {
                [Arg {
                    value: Bson::Document(d),
                    ..
                }] => (d.get("t").cloned(), d.get("i").cloned()),
                [t, i] => (Some(t.value.clone()), Some(i.value.clone())),
                _ => return Err(bad(first_at, "Timestamp: expected ({t: …, i: …}) or (t, i)".into())),
            };
            let part = |v: Option<Bson>| match v {
                Some(Bson::Int32(n)) => u32::try_from(n).ok(),
                Some(Bson::Double(f)) if f.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&f) => Some(f as u32),
                Some(Bson::Int64(n)) => u32::try_from(n).ok(),
                _ => None,
            };
            match (part(t), part(i)) {
                (Some(time), Some(increment)) => Ok(Bson::Timestamp(bson::Timestamp { time, increment })),
                _ => Err(bad(
                    first_at,
                    "Timestamp: t and i must be integers from 0 to 4294967295".into(),
                )),
            }
        }
        "UUID" => {
            too_many(text, name, args, 1)?;
            if args.is_empty() {
                return Ok(Bson::Binary(bson::Binary::from_uuid(bson::Uuid::new())));
            }
            let s = string_arg(text, name, at, args, 0)?;
            bson::Uuid::parse_str(s)
                .map(|u| Bson::Binary(bson::Binary::from_uuid(u)))
                .map_err(|_| bad(first_at, format!("UUID: '{s}' is not a UUID")))
        }
        "BinData" | "HexData" => {
            too_many(text, name, args, 2)?;
            let subtype = match args.first() {
                Some(Arg {
                    value: Bson::Int32(n), ..
                }) if (0..=255).contains(n) => *n as u8,
                _ => return Err(bad(first_at, format!("{name}: expected a subtype from 0 to 255 first"))),
            };
            let data = string_arg(text, name, at, args, 1)?;
            let data_at = args.get(1).map_or(at, |a| a.at);
            let bytes = if name == "BinData" {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|_| bad(data_at, "BinData: the data is not base64".into()))?
            } else {
                hex::decode(data).map_err(|_| bad(data_at, "HexData: the data is not hexadecimal".into()))?
            };
            Ok(Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::from(subtype),
                bytes,
            }))
        }
        "RegExp" => {
            too_many(text, name, args, 2)?;
            let pattern = string_arg(text, name, at, args, 0)?;
            let flags = if args.len() > 1 {
                string_arg(text, name, at, args, 1)?
            } else {
                ""
            };
            regex(text, first_at, pattern, flags)
        }
        "MinKey" if args.is_empty() => Ok(Bson::MinKey),
        "MaxKey" if args.is_empty() => Ok(Bson::MaxKey),
        _ => Err(bad(
            at,
            format!(
                "unknown function '{name}': expected ObjectId, ISODate, Date, NumberLong, NumberInt, NumberDecimal, \
                 Double, Timestamp, UUID, BinData, HexData, RegExp, MinKey or MaxKey"
            ),
        )),
    }
}

/// Collection methods, for the "unknown method" message.
const COLLECTION_METHODS: &str = "find, findOne, aggregate, countDocuments, estimatedDocumentCount, insertOne, \
    insertMany, updateOne, updateMany, replaceOne, deleteOne, deleteMany, distinct, createIndex, getIndexes, \
    dropIndex, drop, stats";
const DATABASE_METHODS: &str =
    "runCommand, adminCommand, getCollection, getCollectionNames, createCollection, dropDatabase, getName";

/// Turns the links after `db` into an operation.
fn resolve(text: &str, db_at: usize, links: Vec<Link>) -> Result<Operation, SyntaxError> {
    let bad = |at: usize, m: String| error_at(text, at, m);
    let Some(first_call) = links.iter().position(|l| l.args.is_some()) else {
        let at = links.last().map_or(db_at, |l| l.at);
        return Err(bad(
            at,
            "expected a method call, as in db.<collection>.find({…})".into(),
        ));
    };
    let mut links = links.into_iter();
    let (collection, method) = if first_call == 0 {
        let link = links.next().expect("a call");
        if link.name != "getCollection" {
            return database_method(text, link, links.collect());
        }
        let args = link.args.unwrap_or_default();
        let name = string_arg(text, "getCollection", link.at, &args, 0)?.to_string();
        too_many(text, "getCollection", &args, 1)?;
        match links.next() {
            Some(m) if m.args.is_some() => (name, m),
            Some(m) => return Err(bad(m.at, format!("expected a method call: {}(…)", m.name))),
            None => return Err(bad(link.close, "expected a method after getCollection(…)".into())),
        }
    } else {
        let names: Vec<Link> = links.by_ref().take(first_call).collect();
        let name = names.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(".");
        (name, links.next().expect("the first call"))
    };
    let rest: Vec<Link> = links.collect();
    collection_method(text, collection, method, rest)
}

fn document_arg(text: &str, method: &str, link: &Link, i: usize, what: &str) -> Result<Option<Document>, SyntaxError> {
    let args = link.args.as_deref().unwrap_or_default();
    match args.get(i) {
        None => Ok(None),
        Some(Arg {
            value: Bson::Document(d),
            ..
        }) => Ok(Some(d.clone())),
        Some(a) => Err(error_at(text, a.at, format!("{method}: the {what} must be a document"))),
    }
}

fn required_document(text: &str, method: &str, link: &Link, i: usize, what: &str) -> Result<Document, SyntaxError> {
    document_arg(text, method, link, i, what)?.ok_or_else(|| {
        error_at(
            text,
            link.close,
            format!("{method}: missing the {what} (argument {})", i + 1),
        )
    })
}

fn arity(text: &str, link: &Link, max: usize) -> Result<(), SyntaxError> {
    too_many(text, &link.name, link.args.as_deref().unwrap_or_default(), max)
}

/// A bool option of an options document (`{upsert: true}`); others refused.
fn options(text: &str, method: &str, link: &Link, i: usize, known: &[&str]) -> Result<Document, SyntaxError> {
    let Some(o) = document_arg(text, method, link, i, "options")? else {
        return Ok(Document::new());
    };
    let at = link.args.as_ref().and_then(|a| a.get(i)).map_or(link.at, |a| a.at);
    if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(error_at(
            text,
            at,
            format!(
                "{method}: option '{k}' is not supported{}",
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (only {})", known.join(", "))
                }
            ),
        ));
    }
    Ok(o)
}

fn flag(o: &Document, key: &str, default: bool) -> bool {
    match o.get(key) {
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(n)) => *n != 0,
        Some(Bson::Double(f)) => *f != 0.0,
        Some(Bson::Null) | None => default,
        Some(_) => true,
    }
}

fn count_arg(text: &str, name: &str, a: Option<&Arg>, at: usize) -> Result<i64, SyntaxError> {
    match a.map(|a| (&a.value, a.at)) {
        Some((Bson::Int32(n), _)) => Ok(*n as i64),
        Some((Bson::Int64(n), _)) => Ok(*n),
        Some((Bson::Double(f), _)) if f.fract() == 0.0 && f.is_finite() => Ok(*f as i64),
        Some((_, at)) => Err(error_at(text, at, format!("{name}: expected an integer"))),
        None => Err(error_at(text, at, format!("{name}: missing argument"))),
    }
}

fn collection_method(text: &str, collection: String, m: Link, rest: Vec<Link>) -> Result<Operation, SyntaxError> {
    let bad = |at: usize, msg: String| error_at(text, at, msg);
    let name = m.name.as_str();
    let args = m.args.as_deref().unwrap_or_default();
    let op = match name {
        "find" | "findOne" => {
            arity(text, &m, 2)?;
            let filter = document_arg(text, name, &m, 0, "filter")?.unwrap_or_default();
            let projection = document_arg(text, name, &m, 1, "projection")?;
            let one = name == "findOne";
            let mut shape = FindShape {
                projection,
                limit: one.then_some(1),
                ..FindShape::default()
            };
            for link in &rest {
                let Some(largs) = link.args.as_deref() else {
                    return Err(bad(link.at, format!("expected a call: {}(…)", link.name)));
                };
                if one {
                    return Err(bad(
                        link.at,
                        format!("{}() cannot follow findOne(), which gives a document", link.name),
                    ));
                }
                match link.name.as_str() {
                    "sort" => shape.sort = Some(required_document(text, "sort", link, 0, "sort specification")?),
                    "projection" | "project" => {
                        shape.projection = Some(required_document(text, &link.name, link, 0, "projection")?)
                    }
                    "limit" => {
                        // mongosh: a negative limit is one batch of that many; 0 is no limit.
                        let n = count_arg(text, "limit", largs.first(), link.close)?;
                        shape.limit = (n != 0).then_some(n.unsigned_abs());
                    }
                    "skip" => {
                        let n = count_arg(text, "skip", largs.first(), link.close)?;
                        if n < 0 {
                            return Err(bad(largs[0].at, "skip: must not be negative".into()));
                        }
                        shape.skip = Some(n as u64);
                    }
                    "batchSize" => {
                        let n = count_arg(text, "batchSize", largs.first(), link.close)?;
                        shape.batch_size =
                            Some(u32::try_from(n).map_err(|_| bad(largs[0].at, "batchSize: out of range".into()))?);
                    }
                    "toArray" | "pretty" => {}
                    "count" | "itcount" | "size" => return Ok(Operation::CountDocuments { collection, filter }),
                    other => {
                        return Err(bad(
                            link.at,
                            format!(
                                "unknown cursor method '{other}': expected sort, limit, skip, projection, batchSize, \
                                 count, toArray or pretty"
                            ),
                        ))
                    }
                }
            }
            return Ok(Operation::Find {
                collection,
                filter,
                shape,
                one,
            });
        }
        "aggregate" => {
            arity(text, &m, 2)?;
            options(text, name, &m, 1, &[])?;
            let pipeline = match args.first() {
                Some(Arg {
                    value: Bson::Array(stages),
                    at,
                    ..
                }) => stages
                    .iter()
                    .map(|s| match s {
                        Bson::Document(d) => Ok(d.clone()),
                        _ => Err(bad(*at, "aggregate: every stage must be a document".into())),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                // mongosh also takes the stages as separate arguments.
                Some(Arg {
                    value: Bson::Document(d),
                    ..
                }) => vec![d.clone()],
                Some(a) => return Err(bad(a.at, "aggregate: expected an array of stages".into())),
                None => Vec::new(),
            };
            for link in &rest {
                if !matches!(link.name.as_str(), "toArray" | "pretty") || link.args.is_none() {
                    return Err(bad(
                        link.at,
                        format!(
                            "unknown cursor method '{}' after aggregate: expected toArray or pretty",
                            link.name
                        ),
                    ));
                }
            }
            return Ok(Operation::Aggregate { collection, pipeline });
        }
        "countDocuments" => {
            arity(text, &m, 2)?;
            options(text, name, &m, 1, &[])?;
            Operation::CountDocuments {
                filter: document_arg(text, name, &m, 0, "filter")?.unwrap_or_default(),
                collection,
            }
        }
        "estimatedDocumentCount" => {
            arity(text, &m, 1)?;
            options(text, name, &m, 0, &[])?;
            Operation::EstimatedDocumentCount { collection }
        }
        "insertOne" => {
            arity(text, &m, 2)?;
            options(text, name, &m, 1, &[])?;
            Operation::Insert {
                documents: vec![required_document(text, name, &m, 0, "document")?],
                collection,
                ordered: true,
                one: true,
            }
        }
        "insertMany" => {
            arity(text, &m, 2)?;
            let o = options(text, name, &m, 1, &["ordered"])?;
            let documents = match args.first() {
                Some(Arg {
                    value: Bson::Array(items),
                    at,
                    ..
                }) => items
                    .iter()
                    .map(|d| match d {
                        Bson::Document(d) => Ok(d.clone()),
                        _ => Err(bad(*at, "insertMany: every element must be a document".into())),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(a) => return Err(bad(a.at, "insertMany: expected an array of documents".into())),
                None => return Err(bad(m.close, "insertMany: missing the documents (argument 1)".into())),
            };
            Operation::Insert {
                collection,
                documents,
                ordered: flag(&o, "ordered", true),
                one: false,
            }
        }
        "updateOne" | "updateMany" | "replaceOne" => {
            arity(text, &m, 3)?;
            let filter = required_document(text, name, &m, 0, "filter")?;
            let o = options(text, name, &m, 2, &["upsert"])?;
            let update = match args.get(1) {
                Some(Arg {
                    value: Bson::Document(d),
                    at,
                    ..
                }) => {
                    let operators = d.keys().next().is_some_and(|k| k.starts_with('$'));
                    if name == "replaceOne" && d.keys().any(|k| k.starts_with('$')) {
                        return Err(bad(
                            *at,
                            "replaceOne: the replacement must not contain update operators".into(),
                        ));
                    }
                    if name != "replaceOne" && !operators {
                        return Err(bad(
                            *at,
                            format!("{name}: the update must use update operators ($set …)"),
                        ));
                    }
                    Bson::Document(d.clone())
                }
                Some(Arg {
                    value: Bson::Array(stages),
                    at,
                    ..
                }) if name != "replaceOne" => {
                    if stages.iter().any(|s| !matches!(s, Bson::Document(_))) {
                        return Err(bad(*at, format!("{name}: every pipeline stage must be a document")));
                    }
                    Bson::Array(stages.clone())
                }
                Some(a) => return Err(bad(a.at, format!("{name}: the update must be a document"))),
                None => return Err(bad(m.close, format!("{name}: missing the update (argument 2)"))),
            };
            Operation::Update {
                collection,
                filter,
                update,
                many: name == "updateMany",
                upsert: flag(&o, "upsert", false),
            }
        }
        "deleteOne" | "deleteMany" => {
            arity(text, &m, 2)?;
            options(text, name, &m, 1, &[])?;
            Operation::Delete {
                filter: required_document(text, name, &m, 0, "filter")?,
                collection,
                many: name == "deleteMany",
            }
        }
        "distinct" => {
            arity(text, &m, 2)?;
            Operation::Distinct {
                field: string_arg(text, name, m.close, args, 0)?.to_string(),
                filter: document_arg(text, name, &m, 1, "filter")?.unwrap_or_default(),
                collection,
            }
        }
        "createIndex" => {
            arity(text, &m, 2)?;
            Operation::CreateIndex {
                keys: required_document(text, name, &m, 0, "keys")?,
                options: document_arg(text, name, &m, 1, "options")?.unwrap_or_default(),
                collection,
            }
        }
        "getIndexes" => {
            arity(text, &m, 0)?;
            Operation::GetIndexes { collection }
        }
        "dropIndex" => {
            arity(text, &m, 1)?;
            Operation::DropIndex {
                name: string_arg(text, name, m.close, args, 0)?.to_string(),
                collection,
            }
        }
        "drop" => {
            arity(text, &m, 0)?;
            Operation::Drop { collection }
        }
        "stats" => {
            arity(text, &m, 0)?;
            Operation::Stats { collection }
        }
        other => {
            return Err(bad(
                m.at,
                format!("unknown collection method '{other}': expected {COLLECTION_METHODS}"),
            ))
        }
    };
    if let Some(link) = rest.first() {
        return Err(bad(link.at, format!("{}() cannot follow {name}()", link.name)));
    }
    Ok(op)
}

fn database_method(text: &str, m: Link, rest: Vec<Link>) -> Result<Operation, SyntaxError> {
    let bad = |at: usize, msg: String| error_at(text, at, msg);
    if let Some(link) = rest.first() {
        return Err(bad(link.at, format!("{}() cannot follow db.{}()", link.name, m.name)));
    }
    let name = m.name.as_str();
    let args = m.args.as_deref().unwrap_or_default();
    Ok(match name {
        "runCommand" | "adminCommand" => {
            arity(text, &m, 1)?;
            let command = match args.first() {
                Some(Arg {
                    value: Bson::Document(d),
                    ..
                }) => d.clone(),
                // db.runCommand("ping") is {ping: 1}.
                Some(Arg {
                    value: Bson::String(s), ..
                }) => bson::doc! { s.clone(): 1 },
                Some(a) => return Err(bad(a.at, format!("{name}: expected a command document"))),
                None => return Err(bad(m.close, format!("{name}: missing the command"))),
            };
            Operation::RunCommand {
                database: (name == "adminCommand").then(|| "admin".to_string()),
                command,
            }
        }
        "getCollectionNames" => {
            arity(text, &m, 0)?;
            Operation::CollectionNames
        }
        "createCollection" => {
            arity(text, &m, 2)?;
            Operation::CreateCollection {
                name: string_arg(text, name, m.close, args, 0)?.to_string(),
                options: document_arg(text, name, &m, 1, "options")?.unwrap_or_default(),
            }
        }
        "dropDatabase" => {
            arity(text, &m, 0)?;
            Operation::DropDatabase
        }
        "getName" => {
            arity(text, &m, 0)?;
            Operation::DatabaseName
        }
        other => {
            return Err(bad(
                m.at,
                format!(
                    "unknown database method '{other}': expected {DATABASE_METHODS}, or db.<collection>.<method>(…)"
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn op(text: &str) -> Operation {
        match parse_statement(text) {
            Ok(Statement::Operation(op)) => *op,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn err(text: &str) -> SyntaxError {
        parse_statement(text).expect_err(text)
    }

    #[test]
    fn relaxed_literals() {
        let v = parse_value(
            "{a: 1, 'b': \"two\", c: [1.5, -2, true, null], $gt: {x_y: 3000000000}, d: `t`, 'e f': 1e3, g: 2.0, \
             // a comment\n h: /* inline */ undefined, i: 0x10, }",
        )
        .unwrap();
        assert_eq!(
            v,
            Bson::Document(doc! {
                "a": 1, "b": "two", "c": [1.5, -2, true, Bson::Null], "$gt": {"x_y": 3000000000.0},
                "d": "t", "e f": 1000, "g": 2, "h": Bson::Null, "i": 16,
            })
        );
        assert_eq!(
            parse_value("'it\\'s \\u00e9\\x41\\n'").unwrap(),
            Bson::String("it's éA\n".into())
        );
        assert_eq!(parse_value("\"\\uD83D\\uDE00\"").unwrap(), Bson::String("😀".into()));
        assert_eq!(parse_value("{1: 'x'}").unwrap(), Bson::Document(doc! {"1": "x"}));
        assert_eq!(parse_value("-Infinity").unwrap(), Bson::Double(f64::NEG_INFINITY));
        assert_eq!(parse_value("2147483648").unwrap(), Bson::Double(2147483648.0));
        assert_eq!(parse_value("-2147483648").unwrap(), Bson::Int32(i32::MIN));
    }

    #[test]
    fn constructors() {
        let v = parse_value(
            "{_id: ObjectId('65a1b2c3d4e5f60718293a4b'), at: ISODate(\"2024-01-02T03:04:05.5Z\"), \
             day: ISODate('2024-01-02'), local: new Date('2024-01-02T03:04'), ms: new Date(0), \
             n: NumberLong(9007199254740993), s: NumberLong('-5'), i: NumberInt('7'), \
             d: NumberDecimal('12.340'), t: Timestamp({t: 5, i: 1}), r: /ab+c/gi, \
             u: UUID('123e4567-e89b-12d3-a456-426614174000'), b: BinData(0, 'AQI='), h: HexData(5, '0a0b'), \
             lo: MinKey, hi: MaxKey(), db: Double(1), re: RegExp('x', 'm')}",
        )
        .unwrap();
        let Bson::Document(d) = v else { panic!() };
        assert_eq!(d.get_object_id("_id").unwrap().to_hex(), "65a1b2c3d4e5f60718293a4b");
        assert_eq!(d.get_datetime("at").unwrap().timestamp_millis(), 1704164645500);
        assert_eq!(d.get_datetime("day").unwrap().timestamp_millis(), 1704153600000);
        assert_eq!(d.get_datetime("local").unwrap().timestamp_millis(), 1704164640000);
        assert_eq!(d.get_datetime("ms").unwrap().timestamp_millis(), 0);
        assert_eq!(d.get_i64("n").unwrap(), 9007199254740993);
        assert_eq!(d.get_i64("s").unwrap(), -5);
        assert_eq!(d.get_i32("i").unwrap(), 7);
        assert_eq!(d.get("d").unwrap().to_string(), "12.340");
        assert_eq!(d.get_timestamp("t").unwrap(), bson::Timestamp { time: 5, increment: 1 });
        let Bson::RegularExpression(r) = d.get("r").unwrap() else {
            panic!()
        };
        assert_eq!((r.pattern.as_str(), r.options.as_str()), ("ab+c", "i"));
        let Bson::Binary(u) = d.get("u").unwrap() else { panic!() };
        assert_eq!(u.subtype, bson::spec::BinarySubtype::Uuid);
        assert_eq!(d.get_binary_generic("b").unwrap(), &vec![1u8, 2]);
        assert_eq!(d.get("lo"), Some(&Bson::MinKey));
        assert_eq!(d.get("hi"), Some(&Bson::MaxKey));
        assert_eq!(d.get("db"), Some(&Bson::Double(1.0)));
        assert!(matches!(parse_value("ObjectId()").unwrap(), Bson::ObjectId(_)));
        assert!(matches!(parse_value("ISODate()").unwrap(), Bson::DateTime(_)));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_value("{a: 1,\n  b 2}").unwrap_err();
        assert_eq!((e.line, e.column, e.position), (2, 5, 12), "{e}");
        assert!(e.message.contains("expected ':'"), "{e}");
        let e = parse_value("{a: ObjectId('xyz')}").unwrap_err();
        assert_eq!((e.line, e.column), (1, 14));
        assert!(e.message.contains("24 hexadecimal"), "{e}");
        let e = parse_value("{a: 'open}").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.message.contains("unterminated string"), "{e}");
        let e = parse_value("{a: foo}").unwrap_err();
        assert!(e.message.contains("unknown name 'foo'"), "{e}");
        let e = parse_value("{a: NumberLong('1.5')}").unwrap_err();
        assert!(e.message.contains("64-bit"), "{e}");
        let e = parse_value("{a: 1} x").unwrap_err();
        assert_eq!(e.column, 8);
        let e = parse_value("{a: /x/q}").unwrap_err();
        assert!(e.message.contains("flag 'q'"), "{e}");
        let e = parse_value("[1, 2").unwrap_err();
        assert!(e.message.contains("']'"), "{e}");
        assert!(parse_value("{a: 12abc}").is_err());
        assert!(parse_value("/* open")
            .unwrap_err()
            .message
            .contains("unterminated comment"));
        assert_eq!(
            parse_value("{a: 1\n, b: ISODate('nope')}").unwrap_err().to_string(),
            "syntax error at line 2, column 14: ISODate: 'nope' is not an ISO 8601 date"
        );
    }

    #[test]
    fn find_with_cursor_methods() {
        assert_eq!(
            op("db.users.find({age: {$gt: 30}}).sort({name: 1}).limit(5)"),
            Operation::Find {
                collection: "users".into(),
                filter: doc! {"age": {"$gt": 30}},
                shape: FindShape {
                    sort: Some(doc! {"name": 1}),
                    limit: Some(5),
                    ..FindShape::default()
                },
                one: false,
            }
        );
        assert_eq!(
            op("db.getCollection('my coll').find({}, {_id: 0})\n  .skip(2).limit(-3).batchSize(10).toArray();"),
            Operation::Find {
                collection: "my coll".into(),
                filter: doc! {},
                shape: FindShape {
                    projection: Some(doc! {"_id": 0}),
                    limit: Some(3),
                    skip: Some(2),
                    batch_size: Some(10),
                    ..FindShape::default()
                },
                one: false,
            }
        );
        let Operation::Find {
            collection, one, shape, ..
        } = op("db.system.profile.findOne()")
        else {
            panic!()
        };
        assert_eq!(
            (collection.as_str(), one, shape.limit),
            ("system.profile", true, Some(1))
        );
        let Operation::Find { collection, .. } = op("db['a-b'].find()") else {
            panic!()
        };
        assert_eq!(collection, "a-b");
        assert_eq!(
            op("db.c.find({a: 1}).count()"),
            Operation::CountDocuments {
                collection: "c".into(),
                filter: doc! {"a": 1}
            }
        );
    }

    #[test]
    fn every_common_method() {
        assert_eq!(
            op("db.c.aggregate([{$match: {a: 1}}, {$count: 'n'}])"),
            Operation::Aggregate {
                collection: "c".into(),
                pipeline: vec![doc! {"$match": {"a": 1}}, doc! {"$count": "n"}]
            }
        );
        assert!(matches!(op("db.c.countDocuments()"), Operation::CountDocuments { .. }));
        assert!(matches!(
            op("db.c.estimatedDocumentCount()"),
            Operation::EstimatedDocumentCount { .. }
        ));
        assert_eq!(
            op("db.c.insertMany([{a: 1}, {a: 2}], {ordered: false})"),
            Operation::Insert {
                collection: "c".into(),
                documents: vec![doc! {"a": 1}, doc! {"a": 2}],
                ordered: false,
                one: false
            }
        );
        assert!(matches!(
            op("db.c.insertOne({a: 1})"),
            Operation::Insert { one: true, .. }
        ));
        assert_eq!(
            op("db.c.updateMany({a: 1}, {$set: {b: 2}}, {upsert: true})"),
            Operation::Update {
                collection: "c".into(),
                filter: doc! {"a": 1},
                update: Bson::Document(doc! {"$set": {"b": 2}}),
                many: true,
                upsert: true
            }
        );
        assert!(matches!(
            op("db.c.updateOne({}, [{$set: {b: 1}}])"),
            Operation::Update { many: false, .. }
        ));
        assert!(matches!(
            op("db.c.replaceOne({a: 1}, {a: 2})"),
            Operation::Update { .. }
        ));
        assert!(matches!(
            op("db.c.deleteOne({a: 1})"),
            Operation::Delete { many: false, .. }
        ));
        assert!(matches!(
            op("db.c.deleteMany({})"),
            Operation::Delete { many: true, .. }
        ));
        assert!(matches!(
            op("db.c.createIndex({a: 1}, {unique: true})"),
            Operation::CreateIndex { .. }
        ));
        assert!(matches!(op("db.c.getIndexes()"), Operation::GetIndexes { .. }));
        assert!(matches!(op("db.c.dropIndex('a_1')"), Operation::DropIndex { .. }));
        assert!(matches!(op("db.c.drop()"), Operation::Drop { .. }));
        assert!(matches!(op("db.c.distinct('a', {b: 1})"), Operation::Distinct { .. }));
        assert_eq!(
            op("db.runCommand({ping: 1})"),
            Operation::RunCommand {
                database: None,
                command: doc! {"ping": 1}
            }
        );
        assert_eq!(
            op("db.adminCommand('listDatabases')"),
            Operation::RunCommand {
                database: Some("admin".into()),
                command: doc! {"listDatabases": 1}
            }
        );
        assert_eq!(op("db.getCollectionNames()"), Operation::CollectionNames);
        assert_eq!(parse_statement("show dbs").unwrap(), Statement::ShowDatabases);
        assert_eq!(
            parse_statement("show collections;").unwrap(),
            Statement::ShowCollections
        );
        assert_eq!(parse_statement("use shop").unwrap(), Statement::Use("shop".into()));
        assert_eq!(parse_statement(" it ").unwrap(), Statement::It);
        assert_eq!(parse_statement("exit()").unwrap(), Statement::Exit);
    }

    #[test]
    fn statement_errors_have_positions() {
        let e = err("db.users.fnd({})");
        assert_eq!((e.line, e.column), (1, 10));
        assert!(e.message.contains("unknown collection method 'fnd'"), "{e}");
        let e = err("db.users.find({age: {$gt 30}})");
        assert_eq!(e.column, 26, "{e}");
        let e = err("db.users.find({}).sort({a: 1}).limt(1)");
        assert_eq!(e.column, 32, "{e}");
        let e = err("db.users.updateOne({}, {a: 1})");
        assert!(e.message.contains("update operators"), "{e}");
        let e = err("db.users");
        assert!(e.message.contains("expected a method call"), "{e}");
        let e = err("db.users.insertOne()");
        assert!(e.message.contains("missing the document"), "{e}");
        let e = err("db.users.find({}) x");
        assert_eq!(e.column, 19);
        let e = err("select 1");
        assert!(e.message.contains("unknown name 'select'"), "{e}");
        let e = err("db.users.find({}, {}, {})");
        assert!(e.message.contains("too many"), "{e}");
        let e = err("show nothing");
        assert_eq!(e.column, 6);
        let e = err("db.c.insertMany([1])");
        assert!(e.message.contains("every element"), "{e}");
        let e = err("db.c.find(");
        assert_eq!(e.column, 11, "{e}");
        assert!(e.message.contains("end of the input"), "{e}");
        let e = err("db.c.find({}");
        assert!(e.message.contains("expected ')'"), "{e}");
    }

    #[test]
    fn statements_split_and_continue() {
        assert!(is_incomplete("db.c.find({a: 1,"));
        assert!(is_incomplete("db.c.find({a: 'x'})\n  ."));
        assert!(!is_incomplete("db.c.find({a: '{'})"));
        assert!(is_incomplete("db.c.find({a: 1 /* open"));
        assert!(!is_incomplete("db.c.find() // {"));
        let text = "db.a.find()\n  .limit(1); db.b.find({x: ';'})\n// note\nshow dbs\n";
        let parts: Vec<&str> = split_statements(text).into_iter().map(|(_, s)| s.trim()).collect();
        assert_eq!(parts, ["db.a.find()\n  .limit(1)", "db.b.find({x: ';'})", "show dbs"]);
        let text = "db.a.insertOne({\n  a: 1\n})\ndb.b.find()";
        let parts: Vec<(usize, &str)> = split_statements(text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].0, text.find("db.b").unwrap());
    }
}
