//! PostgreSQL over TLS (rustls): a server with `ssl = on` and a certificate made at test time;
//! `sslmode=require` connects encrypted, `verify-full` with the right CA connects and with
//! another CA is refused. Runs in the suite's PostgreSQL pass (`FOREWARN_TEST_POSTGRES=1`).

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

use crate::Maintenance;

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (p.self_signed(&key).unwrap(), key)
}

#[tokio::test]
async fn postgres_over_tls_verifies_the_server() {
    if !crate::testdb::postgres() {
        return; // SQLite pass: no server to talk TLS to.
    }
    let root = ca();
    let (other, _) = ca();
    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &root.0, &root.1)
        .unwrap();
    let files = [
        ("server.pem", cert.pem()),
        ("server.key", key.serialize_pem()),
    ];
    let options = [
        "ssl=on".to_owned(),
        "ssl_cert_file={dir}/server.pem".to_owned(),
        "ssl_key_file={dir}/server.key".to_owned(),
    ];
    let url = crate::pgserver::start_server("tls", &files, &options).unwrap();
    let port = url.rsplit(':').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, other_file) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ca_file, root.0.pem()).unwrap();
    std::fs::write(&other_file, other.pem()).unwrap();
    let at = |mode: &str, ca: Option<&std::path::Path>| {
        let root = ca.map_or(String::new(), |p| format!("&sslrootcert={}", p.display()));
        format!("postgres://forewarn@localhost:{port}/postgres?sslmode={mode}{root}")
    };
    for (mode, ca) in [
        ("require", None),
        ("verify-ca", Some(ca_file.as_path())),
        ("verify-full", Some(ca_file.as_path())),
    ] {
        let db = Maintenance::connect(&at(mode, ca))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        let encrypted: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert!(encrypted, "sslmode={mode} is encrypted");
        db.close().await;
    }
    let err = match Maintenance::connect(&at("verify-full", Some(&other_file))).await {
        Ok(_) => panic!("another CA's server was trusted"),
        Err(e) => e.to_string(),
    };
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
