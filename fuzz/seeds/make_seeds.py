#!/usr/bin/env python3
"""Writes the seed inputs of the MySQL, MongoDB, SDK, host and DynamoDB
fuzz targets into fuzz/corpus/TARGET (small valid inputs, built here from
the protocol documentation; run from anywhere: python3
fuzz/seeds/make_seeds.py)."""
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# ---------------------------------------------------------------- MySQL

def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lstr(b):
    if isinstance(b, str):
        b = b.encode()
    return lenenc(len(b)) + b


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


LONG_PASSWORD, PROTOCOL_41, TRANSACTIONS, SECURE = 1, 0x200, 0x2000, 0x8000
MULTI_STATEMENTS, MULTI_RESULTS, PS_MULTI = 1 << 16, 1 << 17, 1 << 18
PLUGIN_AUTH, LENENC_DATA, DEPRECATE_EOF = 1 << 19, 1 << 21, 1 << 24
CAPS = (LONG_PASSWORD | PROTOCOL_41 | TRANSACTIONS | SECURE | MULTI_STATEMENTS | MULTI_RESULTS
        | PS_MULTI | PLUGIN_AUTH | LENENC_DATA)
NONCE = b"abcdefgh0123456789AB"


def greeting(plugin=b"mysql_native_password", caps=CAPS | DEPRECATE_EOF, version=b"8.0.40"):
    p = bytes([10]) + version + b"\0" + struct.pack("<I", 7) + NONCE[:8] + b"\0"
    p += struct.pack("<H", caps & 0xFFFF) + bytes([45]) + struct.pack("<H", 2)
    p += struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10
    p += NONCE[8:] + b"\0" + plugin + b"\0"
    return p


def ok(status=2, affected=0, header=0):
    return bytes([header]) + lenenc(affected) + lenenc(0) + struct.pack("<HH", status, 0)


def eof(status=2):
    return b"\xfe" + struct.pack("<HH", 0, status)


def coldef(name, ty, flags=0, charset=63, length=11, decimals=0, ext=b""):
    p = b"".join(lstr(s) for s in ["def", "test", "t", "t", name, name])
    if ext:
        p += lstr(ext)
    p += b"\x0c" + struct.pack("<HIBHB", charset, length, ty, flags, decimals) + b"\0\0"
    return p


def err(code, state, msg):
    return b"\xff" + struct.pack("<H", code) + b"#" + state + msg


def text_row(*fields):
    return b"".join(b"\xfb" if f is None else lstr(f) for f in fields)


# Types of enum_field_types used below.
TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG = 1, 2, 3, 4, 5, 6, 7, 8
DATE, TIME, DATETIME, YEAR, BIT, JSON, NEWDECIMAL, BLOB, VAR_STRING, GEOMETRY = (
    10, 11, 12, 13, 16, 245, 246, 252, 253, 255)
# Index of each type in the TYPES table of fuzz_targets/mysql_packets.rs.
TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
         245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255]


def spec(ty, unsigned=False, text=False, decimals=0, json_ext=False):
    return bytes([TYPES.index(ty), (2 if unsigned else 0) | (32 if json_ext else 0), 1 if text else 0, decimals])


def rows_input(specs, payloads):
    out = bytes([len(specs) - 1]) + b"".join(specs)
    for p in payloads:
        out += struct.pack("<H", len(p)) + p
    return out


# mysql_packets: first byte picks the decoder (see the target's match).
write("mysql_packets", "handshake", b"\x00" + greeting())
write("mysql_packets", "handshake_caching_sha2", b"\x00" + greeting(b"caching_sha2_password"))
write("mysql_packets", "handshake_mariadb", b"\x00" + greeting(b"client_ed25519", CAPS & ~LONG_PASSWORD,
                                                               b"5.5.5-10.11.6-MariaDB"))
write("mysql_packets", "ok", b"\x01" + ok(affected=3))
write("mysql_packets", "eof", b"\x01" + eof())
write("mysql_packets", "err", b"\x01" + err(1062, b"23000", b"Duplicate entry '1' for key 'PRIMARY'"))
write("mysql_packets", "coldef", b"\x02" + coldef("n", LONGLONG, 32 | 1, 63, 20))
write("mysql_packets", "coldef_ext_json", b"\x82" + coldef("j", BLOB, 0, 45, 0xFFFFFFFF, 0, b"\x01\x04json"))
write("mysql_packets", "auth_switch", b"\x03\xfemysql_native_password\0" + NONCE + b"\0")
write("mysql_packets", "auth_switch_sha2", b"\x03\xfecaching_sha2_password\0" + NONCE + b"\0")
# A public key made for these seeds (openssl genpkey, RSA 1024; the private half was not kept).
PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQChNp1brag9fmbQEOFHNH77NoXe
xPvcURdtWBQ5ySaercw70CkaUjDnWo7xvql4/sIgXZgzrChfq2vxL6HrjBmk8aYx
8s907RERPpEw1tiROSleoowKBHPqbYButzkec/GDOCaAB+gBqo7LTgejT54zuWqc
p/LIn8+BXI+dQyVb3QIDAQAB
-----END PUBLIC KEY-----
"""
# More data after the first response: parts separated by 0xFF (the 0x01 header stripped).
write("mysql_packets", "more_data_fast", b"\x04\x00\x03")
write("mysql_packets", "more_data_full_tls", b"\x04\x80\x04")
write("mysql_packets", "more_data_key", b"\x04\x00\x04\xff" + PUBLIC_KEY)
write("mysql_packets", "more_data_sha256_key", b"\x04\x01" + PUBLIC_KEY)
write("mysql_packets", "frames", b"\x05" + packet(0, ok()) + packet(1, eof()) + packet(2, b"\x01"))
write("mysql_packets", "text_rows", b"\x06" + rows_input(
    [spec(LONGLONG, unsigned=True), spec(NEWDECIMAL, decimals=2), spec(DATE), spec(TIME), spec(BIT),
     spec(VAR_STRING, text=True), spec(DATETIME), spec(DOUBLE), spec(JSON, text=True), spec(YEAR),
     spec(GEOMETRY), spec(TINY)],
    [text_row(b"18446744073709551615", b"-12.50", b"2024-01-31", b"-838:59:59.000001", b"\x01\x02", None,
              b"2024-01-31 10:11:12.5", b"1.5e300", b"{\"a\":1}", b"2024", b"\0\0\0\0\x01\x01\0\0\0", b"-128"),
     text_row(b"0", b"0", b"0000-00-00", b"00:00:00", b"", b"x", b"0000-00-00 00:00:00", b"-0", b"[]",
              b"0", None, b"127")]))
write("mysql_packets", "binary_rows", b"\x07" + rows_input(
    [spec(DATETIME), spec(TIME), spec(TINY), spec(SHORT, unsigned=True), spec(LONG), spec(LONGLONG),
     spec(FLOAT), spec(DOUBLE), spec(DATE), spec(VAR_STRING, text=True), spec(TIMESTAMP), spec(NULL)],
    [b"\x00\x00\x00" + bytes([11, 0xB2, 0x07, 1, 1, 0, 0, 1, 0x20, 0xA1, 0x07, 0])
     + bytes([12, 1, 1, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0]) + b"\xff" + struct.pack("<H", 65535)
     + struct.pack("<i", -5) + struct.pack("<q", -(1 << 62)) + struct.pack("<f", 1.5)
     + struct.pack("<d", -2.25) + bytes([4, 0xE8, 0x07, 2, 29]) + lstr("héllo") + bytes([0]),
     b"\x00" + bytes([0xFC, 0x3F])]))
write("mysql_packets", "dates", b"\x08" + b"2024-02-29 23:59:59.999999")
write("mysql_packets", "result_head", b"\x09\x02" + struct.pack("<H", len(coldef("a", LONG)))
      + coldef("a", LONG) + struct.pack("<H", len(coldef("b", VAR_STRING, 0, 45))) + coldef("b", VAR_STRING, 0, 45))


# mysql_session: the first byte picks the chunk size (and the top bit a
# database in the settings); then the server's bytes.
def session(*parts):
    return b"".join(parts)


handshake_ok = packet(0, greeting()) + packet(2, ok()) + packet(1, ok())  # greeting, auth OK, SET time_zone
one = coldef("1", LONGLONG, 1 | 128, 63, 1)
select_1 = packet(1, b"\x01") + packet(2, one) + packet(3, text_row(b"1")) + packet(4, ok(header=0xFE))
prepare = (packet(1, b"\x00" + struct.pack("<IHHBH", 1, 1, 1, 0, 0))
           + packet(2, coldef("?", VAR_STRING, 0, 45)) + packet(3, coldef("?", VAR_STRING, 0, 45)))
execute = packet(1, b"\x01") + packet(2, coldef("?", VAR_STRING, 0, 45)) + packet(3, b"\x00\x00" + lstr("1")) \
    + packet(4, ok(header=0xFE))
two = (packet(1, b"\x01") + packet(2, one) + packet(3, text_row(b"1")) + packet(4, ok(status=2 | 8, header=0xFE))
       + packet(5, b"\x01") + packet(6, one) + packet(7, text_row(b"2")) + packet(8, ok(header=0xFE)))
stream = packet(1, b"\x01") + packet(2, one) + b"".join(packet(3 + i, text_row(str(i).encode())) for i in range(5)) \
    + packet(8, ok(header=0xFE))
full = session(b"\x10", handshake_ok, select_1, prepare, execute, execute, two, stream, select_1, packet(1, ok()))
write("mysql_session", "full", full)
write("mysql_session", "one_byte_chunks", b"\x00" + full[1:])
write("mysql_session", "database", b"\xbf" + handshake_ok + select_1)
write("mysql_session", "server_error", session(b"\x20", handshake_ok,
                                                packet(1, err(1146, b"42S02", b"Table 'test.t' doesn't exist"))))
write("mysql_session", "refused", session(b"\x08", packet(0, greeting()),
                                           packet(2, err(1045, b"28000", b"Access denied for user 'root'"))))
write("mysql_session", "auth_switch", session(b"\x3f", packet(0, greeting(b"caching_sha2_password")),
                                               packet(2, b"\xfemysql_native_password\0" + NONCE + b"\0"),
                                               packet(4, ok()), packet(1, ok()), select_1))
write("mysql_session", "caching_sha2_full_key", session(b"\x3f", packet(0, greeting(b"caching_sha2_password")),
                                                         packet(2, b"\x01\x04"), packet(4, b"\x01" + PUBLIC_KEY),
                                                         packet(6, ok()), packet(1, ok()), select_1))
write("mysql_session", "caching_sha2_fast", session(b"\x3f", packet(0, greeting(b"caching_sha2_password")),
                                                     packet(2, b"\x01\x03"), packet(3, ok()), packet(1, ok()),
                                                     select_1))
# Without CLIENT_DEPRECATE_EOF: EOF packets after the columns and rows.
handshake_eof = packet(0, greeting(caps=CAPS)) + packet(2, ok()) + packet(1, ok())
write("mysql_session", "eof_packets", session(b"\x40", handshake_eof, packet(1, b"\x01"), packet(2, one),
                                               packet(3, eof()), packet(4, text_row(b"1")), packet(5, eof())))


# ---------------------------------------------------------------- MongoDB

def cstring(s):
    return s.encode() + b"\0"


def bson(fields):
    """A document from a dict (keys in order); lists are arrays."""
    body = b""
    for k, v in fields.items():
        if isinstance(v, bool):
            body += b"\x08" + cstring(k) + (b"\x01" if v else b"\x00")
        elif isinstance(v, int):
            if -(1 << 31) <= v < (1 << 31):
                body += b"\x10" + cstring(k) + struct.pack("<i", v)
            else:
                body += b"\x12" + cstring(k) + struct.pack("<q", v)
        elif isinstance(v, float):
            body += b"\x01" + cstring(k) + struct.pack("<d", v)
        elif isinstance(v, str):
            b = v.encode() + b"\0"
            body += b"\x02" + cstring(k) + struct.pack("<i", len(b)) + b
        elif v is None:
            body += b"\x0a" + cstring(k)
        elif isinstance(v, list):
            body += b"\x04" + cstring(k) + bson({str(i): x for i, x in enumerate(v)})
        elif isinstance(v, tuple) and v[0] == "raw":
            body += bytes([v[1]]) + cstring(k) + v[2]
        elif isinstance(v, dict):
            body += b"\x03" + cstring(k) + bson(v)
        else:
            raise TypeError(v)
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def long(n):
    return ("raw", 0x12, struct.pack("<q", n))


OID = ("raw", 0x07, bytes(range(1, 13)))
DATE_ = ("raw", 0x09, struct.pack("<q", 1700000000000))
BIN = ("raw", 0x05, struct.pack("<i", 3) + b"\x00abc")
DEC = ("raw", 0x13, struct.pack("<QQ", 15, 0x3040000000000000))  # 15 (coefficient 15, exponent 0)
TS = ("raw", 0x11, struct.pack("<II", 1, 1700000000))
REGEX = ("raw", 0x0B, b"^a.*\0i\0")

doc1 = bson({"_id": OID, "name": "ann", "age": 31, "big": long(1 << 40), "score": 2.5, "when": DATE_,
             "bin": BIN, "dec": DEC, "ts": TS, "re": REGEX, "none": None, "tags": ["a", "b"],
             "addr": {"city": "Oslo"}, "ok": True})
doc2 = bson({"_id": 2, "name": "bob"})
cursor_reply = bson({"cursor": {"firstBatch": [("raw", 0x03, doc1), ("raw", 0x03, doc2)], "id": long(42),
                                "ns": "test.users"}, "ok": 1.0})
next_reply = bson({"cursor": {"nextBatch": [], "id": long(0), "ns": "test.users"}, "ok": 1})
error_reply = bson({"ok": 0.0, "errmsg": "E11000 duplicate key error collection: test.users index: a_1 dup key",
                    "code": 11000, "codeName": "DuplicateKey", "errorLabels": ["TransientTransactionError"]})
write_errors = bson({"ok": 1, "n": 0, "writeErrors": [{"index": 0, "code": 121, "errmsg": "failed"}]})
current_op = bson({"inprog": [{"opid": 1, "connectionId": 7, "active": True},
                              {"opid": "shard:4", "connectionId": long(7)}], "ok": 1})

OP_MSG = 2013
CRC32C_POLY = 0x82F63B78


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (CRC32C_POLY if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def op_msg(body, sequences=(), response_to=1, checksum=False, flags=0):
    payload = struct.pack("<I", flags | (1 if checksum else 0)) + b"\x00" + body
    for ident, docs in sequences:
        sec = cstring(ident) + docs
        payload += b"\x01" + struct.pack("<i", 4 + len(sec)) + sec
    length = 16 + len(payload) + (4 if checksum else 0)
    msg = struct.pack("<iiii", length, 99, response_to, OP_MSG) + payload
    if checksum:
        msg += struct.pack("<I", crc32c(msg))
    return msg


assert crc32c(b"123456789") == 0xE3069283
# mongodb_messages: first byte picks the decoder (see the target's match).
write("mongodb_messages", "msg_cursor", b"\x00" + op_msg(cursor_reply))
write("mongodb_messages", "msg_checksum", b"\x00" + op_msg(bson({"ok": 1, "n": 3}), checksum=True))
write("mongodb_messages", "msg_checksum_fixed", b"\x80" + op_msg(cursor_reply, checksum=True))
write("mongodb_messages", "msg_sequence", b"\x01" + op_msg(bson({"ok": 1}), [("documents", doc1 + doc2)]))
write("mongodb_messages", "msg_more_to_come", b"\x00" + op_msg(next_reply, flags=2))
write("mongodb_messages", "reply_cursor", b"\x02" + cursor_reply)
write("mongodb_messages", "reply_error", b"\x02" + error_reply)
write("mongodb_messages", "reply_write_errors", b"\x02" + write_errors)
write("mongodb_messages", "reply_current_op", b"\x02" + current_op)
write("mongodb_messages", "documents", b"\x03" + doc1 + doc2)
write("mongodb_messages", "scram_final", b"\x04" + b"v=AAAA")


# ---------------------------------------------------------------- SDK batches
# sdk_batch: rows, column count, then per column its logical type (index
# into LOGICAL of fuzz_targets/sdk_batch.rs), its buffer kind (+0x80: a
# validity bitmap follows) and the buffer; lists are a count and items.
L_INT64, L_TEXT, L_DATE, L_INTERVAL, L_UUID, L_JSON, L_DYNAMIC, L_BYTES = 5, 13, 15, 19, 20, 21, 23, 14


def varlen(values):
    steps = [0] + [len(v) for v in values]
    data = b"".join(values)
    return bytes([len(steps)] + steps) + bytes([len(data)]) + data


def i64s(vals):
    return bytes([len(vals)]) + b"".join(struct.pack("<q", v) for v in vals)


def i32s(vals):
    return bytes([len(vals)]) + b"".join(struct.pack("<i", v) for v in vals)


write("sdk_batch", "ints_text_dynamic", bytes([2, 3])
      + bytes([L_INT64, 5]) + i64s([1, -(1 << 63)])
      + bytes([L_TEXT, 12]) + varlen([b"abc", "é".encode()])
      + bytes([L_DYNAMIC, 15 | 0x80, 1, 0x01]) + bytes([2, 1, 3]) + i64s([7]) + i64s([]) + varlen([b"hi"])
      + varlen([]))
write("sdk_batch", "dates_intervals_uuid", bytes([1, 3])
      + bytes([L_DATE, 4]) + i32s([19000])
      + bytes([L_INTERVAL, 13]) + i32s([1]) + i32s([2]) + i64s([3])
      + bytes([L_UUID, 14, 16]) + bytes(range(16)))
write("sdk_batch", "nulls", bytes([3, 2]) + bytes([L_JSON, 12 | 0x80, 1, 0b101]) + varlen([b"[]", b"", b"{}"])
      + bytes([L_BYTES, 0]))


# mongodb_session: the first byte picks the chunk size (top bit: a user,
# so SCRAM starts); then the server's replies, each answering the request
# id it names (hello is request 1, then one per command in the order of
# fuzz_targets/mongodb_session.rs).
def binary(b):
    return ("raw", 0x05, struct.pack("<i", len(b)) + b"\x00" + b)


def cursor(batch, cid, ns="test.c", first=True):
    return bson({"cursor": {("firstBatch" if first else "nextBatch"): [("raw", 0x03, d) for d in batch],
                            "id": long(cid), "ns": ns}, "ok": 1})


hello = bson({"helloOk": True, "isWritablePrimary": True, "maxBsonObjectSize": 16777216,
              "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000, "connectionId": 7,
              "minWireVersion": 0, "maxWireVersion": 17, "saslSupportedMechs": ["SCRAM-SHA-256"], "ok": 1.0})
replies = [
    hello,
    cursor([doc1, doc2], 42),
    cursor([doc2], 0, first=False),
    bson({"n": 1, "ok": 1}),
    cursor([bson({"name": "c", "type": "collection"})], 0, "test.$cmd.listCollections"),
    bson({"databases": [{"name": "test", "sizeOnDisk": 8192, "empty": False}], "totalSize": 8192, "ok": 1}),
    cursor([doc1], 5),
    cursor([doc2], 0, first=False),
    bson({"n": 3, "ok": 1}),
    bson({"n": 1, "ok": 1}),
]
write("mongodb_session", "full", b"\x3f" + b"".join(op_msg(r, response_to=i + 1) for i, r in enumerate(replies)))
write("mongodb_session", "checksums", b"\x10" + b"".join(op_msg(r, response_to=i + 1, checksum=True)
                                                          for i, r in enumerate(replies)))
write("mongodb_session", "one_byte_chunks", b"\x00" + op_msg(hello, response_to=1) + op_msg(replies[1], response_to=2))
write("mongodb_session", "server_error", b"\x20" + op_msg(hello, response_to=1) + op_msg(error_reply, response_to=2))
write("mongodb_session", "scram_start", b"\xbf" + op_msg(hello, response_to=1) + op_msg(
    bson({"conversationId": 1, "done": False, "payload": binary(b"r=abc,s=c2FsdA==,i=4096"), "ok": 1}),
    response_to=2))
write("mongodb_session", "old_server", b"\x3f" + op_msg(bson({"ok": 1, "maxWireVersion": 5}), response_to=1))


# ---------------------------------------------------------------- host_url
# Byte 0: the URL table (0 postgres, 1 mysql, 2 mongodb, 3 dynamodb,
# 4 file databases, 5 and 6 the host's tables for 0.1 drivers); byte 1:
# the environment (0 none); then the URL, with the password Pw9xQ.

for name, table, env, url in [
    ("pg_userinfo", 0, 0, "postgresql://alice:Pw9xQ@db.example:6543/shop?sslmode=verify-full&connect_timeout=3"),
    ("pg_param_password", 0, 1, "postgres:///db?host=h,[::1]:2&port=5&password=Pw9xQ&options=-c%20a%3Db"),
    ("mysql_v6", 1, 0, "mysql://root:Pw9xQ@[::1]:3306/app?ssl-mode=REQUIRED&connect_timeout=2"),
    ("mongodb_srv", 2, 0, "mongodb+srv://u:Pw9xQ@cluster.example/db?authSource=admin&appName=x"),
    ("mongodb_hosts", 2, 2, "mongodb://u:Pw9xQ@h1:27017,h2:27018/db?replicaSet=rs&tls=true&connectTimeoutMS=500"),
    ("dynamodb_region", 3, 1, "dynamodb://AKID:Pw9xQ@eu-west-3"),
    ("dynamodb_local", 3, 0, "dynamodb://a:Pw9xQ@127.0.0.1:8000?region=us-east-1&tls=disable&session_token=tok"),
    ("dynamodb_env", 3, 2, "dynamodb://"),
    ("sqlite_file", 4, 0, "sqlite:///tmp/x.db?mode=ro"),
    ("sqlite_memory", 4, 0, "sqlite::memory:"),
    ("legacy", 6, 0, "db://u:Pw9xQ@h:1/d?sslmode=require&sslrootcert=system"),
]:
    write("host_url", name, bytes([table, env]) + url.encode())


# ---------------------------------------------------------------- host_batch
# Rows, the row count declared (0xFF: a u32 follows), the column count;
# per column its logical type (index into LOGICAL of
# fuzz_targets/host_batch.rs), flags (bits 0-1 validity: none, tied to
# dynamic tags or a byte per row, a byte per row, a listed bitmap; bits
# 2-3 nullable; bit 7 lengths free), the buffer kind (16: the logical
# type's own), the contents, the validity bytes, a name byte.

def u32s(vals):
    return b"".join(struct.pack("<I", v & 0xFFFFFFFF) for v in vals)


def u64s(vals):
    return b"".join(struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF) for v in vals)


def steps(values):
    """Exact varlen contents: a step byte per value (its length, < 6), then the bytes."""
    return bytes(len(v) for v in values) + b"".join(values)


L_BOOL, L_U64, L_F32, L_TEXT, L_DATE, L_TSTZ, L_IV, L_UUID, L_JSON, L_DOC, L_DYN, L_I64 = (
    1, 9, 10, 13, 15, 18, 19, 20, 21, 22, 23, 5)
write("host_batch", "ints_text_dynamic", bytes([3, 3, 3])
      + bytes([L_I64, 2, 16]) + u64s([1, -2, 1 << 40]) + bytes([1, 0, 1, 0])
      + bytes([L_TEXT, 0, 16]) + steps([b"ab", b"\x00", b""]) + bytes([1])
      + bytes([L_DYN, 1, 16]) + bytes([1, 3, 0]) + u64s([7]) + steps([b"hi"]) + bytes([2]))
write("host_batch", "dates_intervals_uuid", bytes([2, 2, 4])
      + bytes([L_DATE, 0, 16]) + u32s([19000, -1]) + bytes([0])
      + bytes([L_TSTZ, 4, 16]) + u64s([1_700_000_000_000_000, -1]) + bytes([1])
      + bytes([L_IV, 0, 16]) + u32s([1, -1]) + u32s([2, 30]) + u64s([3 << 12]) + bytes([0]) + u64s([-5 << 12]) + bytes([0, 2])
      + bytes([L_UUID, 2, 16]) + bytes(range(32)) + bytes([1, 0, 3]))
write("host_batch", "floats_unsigned_json", bytes([2, 2, 4])
      + bytes([L_F32, 0, 16]) + u32s([0x3FC00000, 0x7FC00000]) + bytes([0])
      + bytes([L_U64, 0, 16]) + u64s([5, 1 << 63]) + bytes([1])
      + bytes([L_JSON, 0, 16]) + steps([b"[1]", b"{}"]) + bytes([2])
      + bytes([L_DOC, 0, 16]) + steps([b"\x05\x00\x00\x00\x00", b""]) + bytes([3]))
write("host_batch", "mismatched_buffers", bytes([2, 2, 2])
      + bytes([L_BOOL, 0x80, 4]) + bytes([3]) + u32s([1, 2, 3]) + bytes([0])
      + bytes([L_TEXT, 0x83, 12]) + bytes([3, 1, 2, 0xFF]) + u32s([9]) + bytes([0, 2]) + b"xy" + bytes([1, 0xAA]) + bytes([1]))


# ---------------------------------------------------------------- dynamodb_replies
# Byte 0: bits 0-5 the read size - 1, bit 6 the server closes after the
# last byte; then what the server sends.

def http(status, reason, body, headers=""):
    if isinstance(body, str):
        body = body.encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body


ITEMS = ('{"Items":[{"pk":{"S":"a"},"n":{"N":"12345678901234567890.123456789"},"b":{"B":"AAH/"},'
         '"ok":{"BOOL":true},"none":{"NULL":true},"m":{"M":{"x":{"L":[{"N":"1"},{"S":"y"}]}}},'
         '"ss":{"SS":["p","q"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AQ=="]}},{"pk":{"S":"b"},"n":{"N":"-2e3"}}],'
         '"Count":2,"LastEvaluatedKey":{"pk":{"S":"b"}},"NextToken":"t1"}')
write("dynamodb_replies", "items", bytes([15]) + http(200, "OK", ITEMS))
write("dynamodb_replies", "chunked", bytes([3]) + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"3;x=y\r\n{\"I\r\n10\r\ntems\":[{\"k\":{\"S\"\r\n7\r\n:\"v\"}}]\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n")
write("dynamodb_replies", "until_close", bytes([0x40 | 20]) + b"HTTP/1.0 200 OK\r\n\r\n{\"Items\":[]}")
write("dynamodb_replies", "aws_error", bytes([7]) + http(
    400, "Bad Request",
    '{"__type":"com.amazon.coral.validate#ValidationException","message":"Statement wasn\'t well formed"}'))
write("dynamodb_replies", "html_503", bytes([63]) + http(
    503, "Service Unavailable", "<html>busy</html>", "Connection: close\r\n"))
write("dynamodb_replies", "two_answers", bytes([31]) + http(200, "OK", '{"TableNames":["t"]}')
      + http(200, "OK", "{}"))
