//! Identifier validation and quoting.
//!
//! Every identifier the driver puts into SQL goes through [`quote`]: it is
//! refused when empty, when it holds a NUL or when it is longer than
//! PostgreSQL's 63 bytes (`NAMEDATALEN - 1`), and is otherwise wrapped in
//! double quotes with inner quotes doubled.

use driverbox_guest_sdk::{Error, Result};

/// Longest identifier PostgreSQL keeps, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Checks that `name` can be used as an identifier.
pub fn validate(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("identifier must not be empty"));
    }
    if name.contains('\0') {
        return Err(Error::invalid("identifier must not contain a NUL character"));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(Error::invalid(format!(
            "identifier is {} bytes long, PostgreSQL allows at most {MAX_IDENTIFIER_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// `"name"` with inner `"` doubled, after [`validate`].
pub fn quote(name: &str) -> Result<String> {
    validate(name)?;
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// `"schema"."name"`, or just `"name"` without a schema.
pub fn qualified(schema: Option<&str>, name: &str) -> Result<String> {
    match schema {
        Some(schema) => Ok(format!("{}.{}", quote(schema)?, quote(name)?)),
        None => quote(name),
    }
}

/// A comma-separated list of quoted identifiers.
pub fn quote_list(names: &[String]) -> Result<String> {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quote(name)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::ErrorKind;

    #[test]
    fn quotes_and_doubles() {
        assert_eq!(quote("a").unwrap(), "\"a\"");
        assert_eq!(quote("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(quote("x; drop table t --").unwrap(), "\"x; drop table t --\"");
        assert_eq!(quote("ünï cødé").unwrap(), "\"ünï cødé\"");
        assert_eq!(qualified(Some("s\""), "t").unwrap(), "\"s\"\"\".\"t\"");
        assert_eq!(qualified(None, "t").unwrap(), "\"t\"");
        assert_eq!(quote_list(&["a".into(), "b c".into()]).unwrap(), "\"a\", \"b c\"");
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "a\0b"] {
            assert_eq!(quote(bad).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let ok = "é".repeat(31) + "a"; // 63 bytes
        assert_eq!(ok.len(), 63);
        assert!(quote(&ok).is_ok());
        let long = "a".repeat(64);
        assert_eq!(quote(&long).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
