//! Where webhooks may go. Never through a redirect (a 307/308 would carry the signed POST to
//! wherever it points), and — unless `[webhooks] allow_private` — never to a loopback, private,
//! link-local, shared or otherwise non-public address. Names are checked on what they resolve to
//! at each connection, by the client's own resolver, so a DNS answer that changes after a check
//! cannot slip through; address literals, which skip the resolver, are checked on the URL.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local, shared
/// address space, documentation, multicast, unspecified or broadcast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Why `url` may not be a webhook target without `allow_private`, if it may not: an address
/// literal that is not public, or `localhost`.
pub fn refusal(url: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_owned();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let private = match bare.parse::<IpAddr>() {
        Ok(ip) => !is_public(ip),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    };
    private.then(|| {
        format!(
            "{host} is not a public address; webhooks go to public receivers unless [webhooks] allow_private = true"
        )
    })
}

/// A resolver that keeps only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let why = format!(
                    "{host} resolves to no public address; [webhooks] allow_private = true allows it"
                );
                return Err(why.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The delivery client: no redirects, `timeout` per request, public receivers only unless
/// `allow_private`, https verified against the system's roots and the CA in `ca_file` (a
/// plant's own receivers), when set.
pub fn client(
    timeout: Duration,
    allow_private: bool,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, crate::MaintenanceError> {
    let failed = |why: String| crate::MaintenanceError::Config(format!("webhooks: {why}"));
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if !allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| failed(format!("reading the CA file {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| failed(format!("{} holds no PEM certificate", path.display())))?;
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| failed(format!("building the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_and_localhost_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://10.1.2.3/",
            "http://192.168.0.5/",
            "http://172.16.9.9/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8080/",
            "http://api.localhost/",
        ] {
            assert!(refusal(url, false).is_some(), "{url}");
            assert!(refusal(url, true).is_none(), "{url}");
        }
        for url in [
            "https://hooks.example.com/x",
            "http://93.184.216.34/",
            "http://[2001:4860::1]/",
        ] {
            assert!(refusal(url, false).is_none(), "{url}");
        }
    }
}
