//! The CLI with DynamoDB, against a throwaway moto server: PartiQL in
//! `query`, `inspect` of tables (keys, indexes), `import` of NDJSON and
//! CSV (items through BatchWriteItem), `export` of a PartiQL query as CSV
//! and JSON. What the CLI wrote is read back with boto3.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

struct Moto {
    port: u16,
    child: std::process::Child,
}

fn venv(bin: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.venv-dynamodb/bin")
        .join(bin)
}

impl Moto {
    fn start() -> Moto {
        let (port, child) = spawn_server(&venv("moto_server"), |port| {
            vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]
        });
        Moto { port, child }
    }

    fn url(&self) -> String {
        format!(
            "dynamodb://AKIDCLI:cli-secret-value@127.0.0.1:{}?region=us-east-1&tls=disable",
            self.port
        )
    }

    fn boto3(&self, script: &str) -> String {
        let program = format!(
            "import boto3, json\nc = boto3.client('dynamodb', endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='b')\n{script}\n",
            self.port
        );
        let out = Command::new(venv("python")).arg("-c").arg(program).output().unwrap();
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn query_inspect_import_export() {
    let moto = Moto::start();
    let url = moto.url();
    moto.boto3(
        "c.create_table(TableName='users', BillingMode='PAY_PER_REQUEST', \
           KeySchema=[{'AttributeName':'pk','KeyType':'HASH'}], \
           AttributeDefinitions=[{'AttributeName':'pk','AttributeType':'S'},{'AttributeName':'city','AttributeType':'S'}], \
           GlobalSecondaryIndexes=[{'IndexName':'by_city','KeySchema':[{'AttributeName':'city','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}])\n\
         c.put_item(TableName='users', Item={'pk':{'S':'a'}, 'name':{'S':'Ann'}, 'n':{'N':'1.50'}})",
    );

    // PartiQL, as a table and as JSON.
    let r = run(&["query", &url, "SELECT * FROM \"users\" WHERE pk = 'a'"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Ann") && r.stdout.contains("1.50"), "{}", r.stdout);
    assert!(r.stdout.contains("(1 row)"), "{}", r.stdout);
    let r = run(&["query", &url, "SELECT name FROM \"users\"", "--format", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("\"name\"") && r.stdout.contains("\"Ann\""),
        "{}",
        r.stdout
    );
    // A missing table: exit 1, the AWS error named, the secret never shown.
    let r = run(&["query", &url, "SELECT * FROM \"nothere\""]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("ResourceNotFoundException") || r.stderr.contains("not found"),
        "{r:?}"
    );
    assert!(!r.all().contains("cli-secret-value"));

    // inspect: the table, its key and indexes.
    let r = run(&["inspect", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("users"), "{}", r.stdout);
    let r = run(&["inspect", &url, "users"]);
    assert_eq!(r.code, 0, "{r:?}");
    for word in ["pk", "city", "PRIMARY", "by_city"] {
        assert!(r.stdout.contains(word), "{word}: {}", r.stdout);
    }

    // import NDJSON (Extended JSON, types kept) and CSV.
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("users.ndjson");
    let mut lines = String::new();
    for i in 0..30 {
        lines += &format!("{{\"pk\": \"u{i:02}\", \"n\": {i}, \"price\": {{\"$numberDecimal\": \"0.10\"}}}}\n");
    }
    std::fs::write(&ndjson, lines).unwrap();
    let r = run(&["import", &url, "users", ndjson.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        moto.boto3("print(c.scan(TableName='users', Select='COUNT')['Count'])")
            .trim(),
        "31"
    );
    let item =
        moto.boto3("print(json.dumps(c.get_item(TableName='users', Key={'pk':{'S':'u07'}})['Item'], sort_keys=True))");
    let item: serde_json::Value = serde_json::from_str(item.trim()).unwrap();
    assert_eq!(
        (item["n"]["N"].as_str(), item["price"]["N"].as_str()),
        (Some("7"), Some("0.10"))
    );
    let csv = dir.path().join("more.csv");
    std::fs::write(&csv, "pk,city\nc1,Paris\nc2,Oslo\n").unwrap();
    let r = run(&["import", &url, "users", csv.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        moto.boto3("print(c.get_item(TableName='users', Key={'pk':{'S':'c2'}})['Item']['city']['S'])")
            .trim(),
        "Oslo"
    );

    // export of a PartiQL query, streamed. (moto's PartiQL fails
    // comparisons on items lacking the attribute: no WHERE.)
    let r = run(&["export", &url, "SELECT pk, n FROM \"users\"", "--format", "csv"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "pk,n", "{}", r.stdout);
    assert_eq!(lines.len(), 34, "{}", r.stdout);
    assert!(
        lines.contains(&"u28,28") && lines.contains(&"a,1.50") && lines.contains(&"c1,"),
        "{}",
        r.stdout
    );
}
