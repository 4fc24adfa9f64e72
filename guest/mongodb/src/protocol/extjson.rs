//! MongoDB Extended JSON v2 for the text interface (`base.query`): a
//! command document in, documents out as relaxed Extended JSON, keys in
//! their order.

use bson::{Bson, Document};
use driverbox_guest_sdk::{Error, Result};

/// Parses one JSON object, canonical or relaxed Extended JSON
/// (`{"$oid": …}`, `{"$date": …}`, `{"$numberLong": …}` …), keeping its
/// keys in order. Errors: `invalid-input` naming the line and column of a
/// syntax error, or the value that is not Extended JSON.
pub fn parse_document(text: &str) -> Result<Document> {
    // serde_json's message ends with "at line L column C".
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("the command is not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(Error::invalid(
            "the command must be a JSON object, e.g. {\"find\": \"users\"}",
        ));
    }
    match Bson::try_from(json) {
        Ok(Bson::Document(d)) => Ok(d),
        Ok(_) => Err(Error::invalid(
            "the command must be a JSON object, not an Extended JSON value",
        )),
        Err(e) => Err(Error::invalid(format!("the command is not valid Extended JSON: {e}"))),
    }
}

/// One document as relaxed Extended JSON text. Errors: `protocol` for
/// malformed BSON.
pub fn to_relaxed(bytes: &[u8]) -> Result<String> {
    let doc = Document::from_reader(bytes).map_err(|e| Error::protocol(format!("malformed BSON document: {e}")))?;
    Ok(Bson::Document(doc).into_relaxed_extjson().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId};

    #[test]
    fn parses_commands_in_order() {
        let d = parse_document(r#"{"find": "users", "filter": {"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "n": {"$numberLong": "5"}}, "limit": 2}"#).unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), ["find", "filter", "limit"]);
        let oid = ObjectId::parse_str("65a1b2c3d4e5f60718293a4b").unwrap();
        assert_eq!(d.get_document("filter").unwrap(), &doc! {"_id": oid, "n": 5i64});
        let e = parse_document("{\"find\": \n  \"users\",,}").unwrap_err();
        assert!(e.message().contains("line 2"), "{}", e.message());
        assert!(parse_document("[1]").is_err());
        assert!(parse_document(r#"{"$oid": "zz"}"#).is_err());
    }

    #[test]
    fn writes_relaxed() {
        let oid = ObjectId::parse_str("65a1b2c3d4e5f60718293a4b").unwrap();
        let d = doc! {"z": 1, "_id": oid, "big": 5i64, "d": bson::DateTime::from_millis(0)};
        assert_eq!(
            to_relaxed(&d.to_vec().unwrap()).unwrap(),
            r#"{"z":1,"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"big":5,"d":{"$date":"1970-01-01T00:00:00Z"}}"#
        );
        assert!(to_relaxed(&[5, 0, 0, 0, 1]).is_err());
    }
}
