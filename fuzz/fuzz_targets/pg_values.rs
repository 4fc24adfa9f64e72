//! The PostgreSQL driver's value decoders: binary values of every type
//! with a codec, text arrays, binary arrays, numerics, JSON, and whole
//! DataRows. The first four bytes pick the type OID, the rest is the value.
#![no_main]

use driverbox_guest_sdk::batch::{BatchBuilder, ColumnBuilder};
use driverbox_guest_sdk::types::{Column, LogicalType};
use driverbox_postgres::protocol::row::{decode_field, decode_row, decode_text_row, Decoder};
use driverbox_postgres::protocol::{array, json, numeric, types};
use libfuzzer_sys::fuzz_target;

/// OIDs worth reaching often: every built-in type with a binary codec.
const OIDS: &[u32] = &[
    16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 142, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1266, 1560,
    1700, 2950, 3802, 1000, 1005, 1007, 1016, 1009, 1021, 1022, 1231, 199, 3807, 2951,
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let pick = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let raw = &data[4..];
    let oid = if pick & 0x8000_0000 == 0 {
        OIDS[pick as usize % OIDS.len()]
    } else {
        pick & 0x7fff_ffff
    };
    if let Some(codec) = types::binary_codec(oid) {
        let mut col = ColumnBuilder::new(codec.logical_type());
        let _ = decode_field(Decoder::Binary(codec), Some(raw), &mut col);
        let _ = col.finish();
    }
    let mut text = ColumnBuilder::new(LogicalType::Json);
    let delim = if pick & 1 == 0 { b',' } else { b';' };
    let _ = decode_field(Decoder::TextArray { elem: oid, delim }, Some(raw), &mut text);
    let _ = array::binary_to_json(raw);
    let _ = numeric::to_string(raw);
    if let Ok(s) = std::str::from_utf8(raw) {
        let _ = json::parse(s);
        let _ = array::text_to_json(s, oid, delim);
        let _ = array::json_to_literal(s, delim);
        if numeric::is_plain(s) {
            let mut out = Vec::new();
            let _ = numeric::encode_text(s, &mut out);
        }
    }
    // The same bytes as a DataRow of three columns, binary and text.
    let columns: Vec<Column> = [LogicalType::Int8, LogicalType::Text, LogicalType::Json]
        .into_iter()
        .map(|t| Column {
            name: "c".into(),
            logical_type: t,
            database_type: "t".into(),
            precision: None,
            scale: None,
            nullable: Some(true),
        })
        .collect();
    let decoders = [
        Decoder::Binary(types::binary_codec(20).expect("int8 codec")),
        Decoder::Text,
        Decoder::TextArray { elem: 23, delim: b',' },
    ];
    let mut batch = BatchBuilder::new(&columns);
    let _ = decode_row(raw, &decoders, &columns, &mut batch);
    let mut text_batch = BatchBuilder::new(&columns);
    let _ = decode_text_row(raw, &columns, &mut text_batch);
});
