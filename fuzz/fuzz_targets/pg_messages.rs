//! Every backend-message decoder of the PostgreSQL driver on arbitrary
//! bytes: the first byte picks the message type, the rest is its body.
#![no_main]

use driverbox_postgres::protocol::message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = message::frame(data);
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 9 {
        0 => drop(message::row_description(body)),
        1 => drop(message::parameter_description(body)),
        2 => {
            if let Ok(tag) = message::command_tag(body) {
                let _ = message::tag_rows(tag);
            }
        }
        3 => drop(message::ready_status(body)),
        4 => drop(message::error_fields(body)),
        5 => drop(message::authentication(body)),
        6 => drop(message::parameter_status(body)),
        7 => drop(message::backend_key(body)),
        _ => {
            // A buffer of several framed messages, as the reader walks it.
            let mut rest = data;
            while let Ok(Some((_, len))) = message::frame(rest) {
                if len == 0 || len > rest.len() {
                    break;
                }
                rest = &rest[len..];
            }
        }
    }
});
