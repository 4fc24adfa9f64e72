//! The shell with a document store: mongosh's statements
//! (`db.c.find({…}).sort({…})`), `show dbs`, `show collections`,
//! `use DB`, `it` (the next page of the last cursor) and `exit`.
//! A statement runs when its line ends with nothing open (a bracket, a
//! string, a comment, a chain ending in `.`), or at a `;`.

use std::io::Write;

use driverbox::NoSqlOperations;

use super::super::mongosh::{self, syntax, DocumentFormat, Outcome, Statement};
use super::super::output::{inert, Format};
use super::super::{connect, connect_failure_handled};
use super::{Flow, Ran, Shell};

impl Shell {
    /// How documents print: relaxed Extended JSON until a format is chosen.
    pub(super) fn document_format(&self) -> DocumentFormat {
        DocumentFormat::from_option(self.format_chosen.then_some(self.format))
    }

    /// Adds a line to the buffer and runs the statements it completes.
    pub(super) async fn document_line(&mut self, line: &str, buffer: &mut String) -> Flow {
        buffer.push_str(line);
        buffer.push('\n');
        if syntax::is_incomplete(buffer) {
            return Flow::Continue;
        }
        let text = std::mem::take(buffer);
        let (flow, _) = self.document_text(&text, None).await;
        flow
    }

    /// Runs the statements of `text` in order, up to the first failure
    /// (`label`: a script's name, for `NAME:LINE:` before errors).
    pub(super) async fn document_text(&mut self, text: &str, label: Option<&str>) -> (Flow, Ran) {
        for (offset, part) in syntax::split_statements(text) {
            let lead = part.len() - part.trim_start().len();
            let line = text[..offset + lead].matches('\n').count() + 1;
            let prefix = label.map(|l| format!("{l}:{line}: ")).unwrap_or_default();
            let (flow, ran) = match mongosh::parse_statement(part) {
                Ok(statement) => self.document_statement(statement, &prefix).await,
                Err(e) => {
                    eprint!(
                        "{}",
                        mongosh::syntax_error_text(&e.shifted(text, offset), text, &prefix)
                    );
                    (Flow::Continue, Ran::Failed(1))
                }
            };
            if flow == Flow::Quit || ran != Ran::Ok {
                return (flow, ran);
            }
        }
        (Flow::Continue, Ran::Ok)
    }

    async fn document_statement(&mut self, statement: Statement, prefix: &str) -> (Flow, Ran) {
        let start = std::time::Instant::now();
        let ran = match statement {
            Statement::Exit => return (Flow::Quit, Ran::Ok),
            Statement::ShowDatabases => self.show_databases(prefix).await,
            Statement::ShowCollections => self.show_collections(prefix).await,
            Statement::Use(name) => self.use_database(&name).await,
            Statement::It => match self.cursor.take() {
                Some(cursor) => self.page(cursor, prefix).await,
                None => {
                    eprintln!("{prefix}error: no cursor: it shows more of the last find or aggregate");
                    Ran::Failed(1)
                }
            },
            Statement::Operation(op) => {
                let db = self.db.clone();
                let mut task = tokio::spawn(async move { mongosh::run(&db, *op).await });
                let joined = tokio::select! {
                    joined = &mut task => joined,
                    Ok(()) = tokio::signal::ctrl_c() => {
                        task.abort();
                        let _ = task.await;
                        eprintln!("{prefix}ERROR:  canceled");
                        return (Flow::Continue, Ran::Canceled);
                    }
                };
                match joined {
                    Ok(Ok(Outcome::Cursor(cursor))) => self.page(cursor, prefix).await,
                    Ok(Ok(Outcome::Documents(docs))) => {
                        let format = self.document_format();
                        let written = mongosh::print_documents(&mut self.out, &docs, format, true)
                            .and_then(|_| mongosh::end_documents(&mut self.out, format, !docs.is_empty()));
                        self.written(written)
                    }
                    Ok(Ok(Outcome::Value(v))) => {
                        let format = self.document_format();
                        let written = mongosh::print_value(&mut self.out, &v, format);
                        self.written(written)
                    }
                    Ok(Err(e)) => Ran::error(&e, None, prefix),
                    Err(e) => {
                        eprintln!("{prefix}error: the statement failed: {e}");
                        Ran::Failed(1)
                    }
                }
            }
        };
        if self.timing && ran != Ran::Canceled {
            println!("Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
        }
        (Flow::Continue, ran)
    }

    fn written(&mut self, written: std::io::Result<()>) -> Ran {
        match written.and_then(|_| self.out.flush()) {
            Ok(()) => Ran::Ok,
            Err(e) => {
                eprintln!("error: writing output: {e}");
                Ran::Failed(1)
            }
        }
    }

    /// Prints the next page of `cursor`; keeps it for `it` when more remain.
    async fn page(&mut self, mut cursor: mongosh::Cursor, prefix: &str) -> Ran {
        let docs = match cursor.next(mongosh::SHELL_PAGE).await {
            Ok(docs) => docs,
            Err(e) => return Ran::error(&e, None, prefix),
        };
        let format = self.document_format();
        let written = mongosh::print_documents(&mut self.out, &docs, format, true)
            .and_then(|_| mongosh::end_documents(&mut self.out, format, !docs.is_empty()));
        let ran = self.written(written);
        match cursor.exhausted().await {
            Ok(false) => {
                if matches!(format, DocumentFormat::Relaxed | DocumentFormat::Fields(Format::Table)) {
                    let _ = writeln!(self.out, "Type \"it\" for more");
                    let _ = self.out.flush();
                }
                self.cursor = Some(cursor);
            }
            Ok(true) => {}
            Err(e) => return Ran::error(&e, None, prefix),
        }
        ran
    }

    /// `show dbs`: each database with its size, as mongosh lists them.
    pub(super) async fn show_databases(&mut self, prefix: &str) -> Ran {
        match self.db.list_databases().await {
            Ok(dbs) => {
                let width = dbs.iter().map(|d| d.name.chars().count()).max().unwrap_or(0);
                let mut text = String::new();
                for d in dbs {
                    let size = d.size_bytes.map(human_size).unwrap_or_default();
                    let line = format!("{:<width$}  {size}", inert(&d.name));
                    text += line.trim_end();
                    text.push('\n');
                }
                let written = write!(self.out, "{text}");
                self.written(written)
            }
            Err(e) => Ran::error(&e, None, prefix),
        }
    }

    /// `show collections`: the names, sorted, one a line.
    pub(super) async fn show_collections(&mut self, prefix: &str) -> Ran {
        match self.db.list_collections(None).await {
            Ok(list) => {
                let mut names: Vec<String> = list.into_iter().map(|c| c.name).collect();
                names.sort();
                let mut text = String::new();
                for n in names {
                    text += &format!("{}\n", inert(&n));
                }
                let written = write!(self.out, "{text}");
                self.written(written)
            }
            Err(e) => Ran::error(&e, None, prefix),
        }
    }

    /// `use DB`: a connection to DB with the same URL otherwise.
    async fn use_database(&mut self, name: &str) -> Ran {
        let url = mongosh::url_with_database(&self.url, name);
        match connect(&self.rt, &url).await {
            Ok(db) => {
                self.cursor = None;
                let old = std::mem::replace(&mut self.db, db);
                driverbox::ConnectionDriver::close(&old).await;
                self.url = url;
                println!("switched to db {}", inert(name));
                Ran::Ok
            }
            Err(e) => {
                connect_failure_handled();
                Ran::error(&e, None, "")
            }
        }
    }
}

/// A size as mongosh shows it: `40.00 KiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::human_size(512), "512 B");
        assert_eq!(super::human_size(40 * 1024), "40.00 KiB");
        assert_eq!(super::human_size(3 * 1024 * 1024 + 512 * 1024), "3.50 MiB");
    }
}
