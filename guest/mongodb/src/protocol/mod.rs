//! MongoDB's wire protocol without I/O: OP_MSG framing ([`message`]),
//! SCRAM ([`scram`]), server replies and errors ([`reply`]) and Extended
//! JSON for the text interface ([`extjson`]), and the seedlist rules of
//! `mongodb+srv://` ([`srv`]).

pub mod extjson;
pub mod message;
pub mod reply;
pub mod scram;
pub mod srv;
