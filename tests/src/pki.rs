//! Certificates made at test time (rcgen): a CA, a server certificate for `localhost` and
//! 127.0.0.1 signed by it, a client certificate signed by it, and a second, unrelated CA — so a
//! test can show the right chain accepted and a wrong one refused. PEM files in a temporary
//! directory that lives as long as the value.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// The files of a test PKI.
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: trusting it must not be enough.
    pub other_ca: PathBuf,
    /// The server's certificate (localhost, 127.0.0.1).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client's certificate.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let cert = p.self_signed(&key).expect("self-sign the CA");
    (cert, key)
}

fn leaf(
    names: &[&str],
    cn: &str,
    ca: &(rcgen::Certificate, KeyPair),
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(names).expect("leaf params");
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.signed_by(&key, &ca.0, &ca.1).expect("sign the leaf");
    (cert, key)
}

impl Pki {
    /// A fresh PKI.
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        let root = ca("Forewarn test CA");
        let (other, _) = ca("Somebody else's CA");
        let server = leaf(&["localhost", "127.0.0.1"], "localhost", &root);
        let client = leaf(&["forewarn-client"], "forewarn-client", &root);
        Pki {
            ca: write("ca.pem", root.0.pem()),
            other_ca: write("other-ca.pem", other.pem()),
            server_cert: write("server.pem", server.0.pem()),
            server_key: write("server.key", server.1.serialize_pem()),
            client_cert: write("client.pem", client.0.pem()),
            client_key: write("client.key", client.1.serialize_pem()),
            _dir: dir,
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}
