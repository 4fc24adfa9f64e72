//! The CLI with DynamoDB, against a throwaway moto server: PartiQL in
//! `query`, `inspect` of tables (keys, indexes), `import` of NDJSON and
//! CSV (items through BatchWriteItem), `export` of a PartiQL query as CSV
//! and JSON; `shell` driven over stdin (PartiQL and meta commands);
//! credentials and region from AWS profile files. What the CLI wrote is
//! read back with boto3.

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

/// `driverbox ARGS` with `input` piped in, no AWS variables from the
/// test's own environment, and `env` set.
fn run_piped(args: &[&str], input: &str, env: &[(&str, &str)]) -> Run {
    let mut c = command(args);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
    ] {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    run_with_input(c, input)
}

/// `driverbox shell` with PartiQL statements and meta commands on stdin.
#[test]
fn shell_runs_partiql_and_meta_commands() {
    let moto = Moto::start();
    moto.boto3(
        "c.create_table(TableName='users', BillingMode='PAY_PER_REQUEST', \
           KeySchema=[{'AttributeName':'pk','KeyType':'HASH'}], \
           AttributeDefinitions=[{'AttributeName':'pk','AttributeType':'S'},{'AttributeName':'city','AttributeType':'S'}], \
           GlobalSecondaryIndexes=[{'IndexName':'by_city','KeySchema':[{'AttributeName':'city','KeyType':'HASH'}],'Projection':{'ProjectionType':'ALL'}}])\n\
         c.put_item(TableName='users', Item={'pk':{'S':'a'}, 'name':{'S':'Ann'}, 'city':{'S':'Oslo'}})\n\
         c.put_item(TableName='users', Item={'pk':{'S':'b'}, 'name':{'S':'Bob'}, 'city':{'S':'Rome'}})",
    );
    let input = "SELECT name, city FROM \"users\"\n  WHERE pk = 'a';\n\
                 INSERT INTO \"users\" VALUE {'pk': 'c', 'name': 'Cy'};\n\
                 \\dt\n\\di users\n\\x on\nSELECT pk FROM \"users\" WHERE pk = 'c';\n\\q\n";
    let r = run_piped(&["shell", &moto.url()], input, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    // The first SELECT, as a table.
    assert!(
        out.contains("Ann") && out.contains("Oslo") && !out.contains("Bob"),
        "{out}"
    );
    assert!(out.contains("(1 row)"), "{out}");
    // \dt lists the table, \di its indexes (primary key and GSI).
    assert!(out.contains("users"), "{out}");
    assert!(out.contains("PRIMARY") && out.contains("by_city"), "{out}");
    // The INSERT happened; `\x on` shows the last SELECT expanded.
    assert_eq!(
        moto.boto3("print(c.get_item(TableName='users', Key={'pk':{'S':'c'}})['Item']['name']['S'])")
            .trim(),
        "Cy"
    );
    assert!(out.contains("-[ RECORD 1 ]"), "{out}");
    assert!(!r.all().contains("cli-secret-value"), "{}", r.all());
}

/// Credentials, region and endpoint from AWS profile files (the host reads
/// them; the driver signs with them): `?profile=` in the URL, or
/// `AWS_PROFILE`; a named profile that is nowhere is an error.
#[test]
fn profile_files_give_credentials_region_and_endpoint() {
    let moto = Moto::start();
    // A table in eu-north-1 only: finding it proves the region came from the profile.
    let program = format!(
        "import boto3\nc = boto3.client('dynamodb', endpoint_url='http://127.0.0.1:{}', region_name='eu-north-1', aws_access_key_id='a', aws_secret_access_key='b')\n\
         c.create_table(TableName='north', BillingMode='PAY_PER_REQUEST', KeySchema=[{{'AttributeName':'pk','KeyType':'HASH'}}], AttributeDefinitions=[{{'AttributeName':'pk','AttributeType':'S'}}])\n\
         c.put_item(TableName='north', Item={{'pk':{{'S':'fjord'}}}})\n",
        moto.port
    );
    let out = Command::new(venv("python")).arg("-c").arg(program).output().unwrap();
    assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));

    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = default-secret-value\n\
         [north]\naws_access_key_id = AKNORTH\naws_secret_access_key = north-secret-value\n\
         [nokeys]\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[default]\nregion = us-east-1\n\
             [profile north]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:{}\n\
             [profile nokeys]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:{}\n",
            moto.port, moto.port
        ),
    )
    .unwrap();
    let home_env = home.path().to_str().unwrap();
    let sql = "SELECT pk FROM \"north\"";
    // Everything from the profile the URL names.
    let r = run_piped(&["query", "dynamodb://?profile=north", sql], "", &[("HOME", home_env)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("fjord"), "{}", r.stdout);
    // The same through AWS_PROFILE, the files named by their variables.
    let elsewhere = tempfile::tempdir().unwrap();
    let (creds, config) = (elsewhere.path().join("c"), elsewhere.path().join("k"));
    std::fs::copy(aws.join("credentials"), &creds).unwrap();
    std::fs::copy(aws.join("config"), &config).unwrap();
    let r = run_piped(
        &["query", "dynamodb://", sql],
        "",
        &[
            ("HOME", "/nonexistent"),
            ("AWS_PROFILE", "north"),
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("fjord"), "{}", r.stdout);
    // The URL's region beats the profile's: the table is not in us-east-1.
    let r = run_piped(
        &["query", "dynamodb://?profile=north&region=us-east-1", sql],
        "",
        &[("HOME", home_env)],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("ResourceNotFoundException") || r.stderr.contains("not found"),
        "{r:?}"
    );
    // A profile without keys: no credentials, said so (exit 2, the
    // connection failed); a profile that is nowhere: named.
    let r = run_piped(&["query", "dynamodb://?profile=nokeys", sql], "", &[("HOME", home_env)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no AWS access key"), "{r:?}");
    let r = run_piped(&["query", "dynamodb://?profile=ghost", sql], "", &[("HOME", home_env)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("\"ghost\""), "{r:?}");
    assert!(!r.all().contains("north-secret-value") && !r.all().contains("default-secret-value"));
}
