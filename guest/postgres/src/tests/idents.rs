//! Identifier torture: names with quotes, semicolons, comments, spaces,
//! Unicode, exactly 63 bytes; 64 bytes, NUL and empty refused before
//! anything is sent.

use super::*;
use crate::{column, extension, schema, table};
use driverbox_guest_sdk::types::ColumnDefinition;

#[test]
fn torture_names() {
    let Some(mut c) = connect() else { return };
    let sch = "dbx \"torture\"; --";
    let long = format!("{}{}", "é".repeat(30), "abc"); // 63 bytes
    assert_eq!(long.len(), 63);
    let tables = ["t\"q", "x; drop table y; --", "sp ace", "ünïcødé ☃", long.as_str()];
    extension::drop_schema(&mut c, sch, true, true).unwrap();
    extension::create_schema(&mut c, sch).unwrap();
    for t in tables {
        let q = crate::DIALECT.qualified(Some(sch), t).unwrap();
        c.run(&format!("create table {q} (id int primary key)")).unwrap();
        for col in ["c\"1", "-- c2", long.as_str()] {
            column::add_column(
                &mut c,
                Some(sch),
                t,
                &ColumnDefinition {
                    name: col.into(),
                    data_type: "text".into(),
                    nullable: true,
                    default: None,
                },
            )
            .unwrap();
        }
        let cols: Vec<String> = ["id", "c\"1", "-- c2", long.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let n = super::bulk_insert_rows(
            &mut c,
            Some(sch),
            t,
            &cols,
            &[
                vec![Value::Int(2), text("a"), text("b"), text("c")],
                vec![Value::Int(1), Value::Null, text("\t\\"), text("")],
            ],
        )
        .unwrap();
        assert_eq!(n, 2);
        let columns = schema::get_columns(&mut c, Some(sch), t).unwrap();
        assert_eq!(columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), cols);
        let data = table::get_table_data(&mut c, Some(sch), t, 10, 0).unwrap();
        assert_eq!(
            dbg(&data.rows().unwrap()[0]),
            dbg(vec![Value::Int(1), Value::Null, text("\t\\"), text("")])
        );
        assert_eq!(data.columns[3].name, long);
        let updated = super::bulk_update_rows(
            &mut c,
            Some(sch),
            t,
            &cols[..1],
            &cols[1..2],
            &[vec![Value::Int(1), text("z")]],
        )
        .unwrap();
        assert_eq!(updated, 1);
        let deleted =
            super::bulk_delete_rows(&mut c, Some(sch), t, &cols[..2], &[vec![Value::Int(1), text("z")]]).unwrap();
        assert_eq!(deleted, 1);
        column::drop_column(&mut c, Some(sch), t, "-- c2", false).unwrap();
    }
    let listed = schema::get_tables(&mut c, Some(sch)).unwrap();
    assert_eq!(listed.len(), tables.len());
    assert!(schema::get_schemas(&mut c).unwrap().iter().any(|s| s.name == sch));

    let too_long = "a".repeat(64);
    for bad in [too_long.as_str(), "", "nul\0here"] {
        let e = column::add_column(
            &mut c,
            Some(sch),
            "sp ace",
            &ColumnDefinition {
                name: bad.into(),
                data_type: "int".into(),
                nullable: true,
                default: None,
            },
        )
        .unwrap_err();
        assert_eq!(kind(&e), ErrorKind::InvalidInput, "{bad:?}");
        let e = table::get_table_data(&mut c, Some(bad), "t", 1, 0).unwrap_err();
        assert_eq!(kind(&e), ErrorKind::InvalidInput);
        let e = extension::create_schema(&mut c, bad).unwrap_err();
        assert_eq!(kind(&e), ErrorKind::InvalidInput);
        let e = super::bulk_insert_rows(&mut c, Some(sch), "sp ace", &[bad.to_string()], &[vec![Value::Int(1)]])
            .unwrap_err();
        assert_eq!(kind(&e), ErrorKind::InvalidInput);
        let e = schema::get_tables(&mut c, Some(bad)).unwrap_err();
        assert_eq!(kind(&e), ErrorKind::InvalidInput);
    }
    still_usable(&mut c);
    extension::drop_schema(&mut c, sch, false, true).unwrap();
}
