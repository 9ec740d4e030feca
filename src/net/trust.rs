//! The roots TLS connections are verified against, read as Go's
//! crypto/x509 reads them on Linux: SSL_CERT_FILE replaces the platform's
//! bundle file, SSL_CERT_DIR (`:`-separated) replaces its certificate
//! directories; with neither, the platform store. PEM parsing is
//! rustls-native-certs'.
//!
//! Invariant: every source that was read is recorded with its count, so a
//! TLS failure can say what was trusted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::NetError;

/// Go's bundle files on Linux, first readable one wins (crypto/x509
/// root_linux.go).
const PLATFORM_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Go's certificate directories on Linux.
const PLATFORM_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// The roots, and where they came from.
#[derive(Debug, Clone)]
pub struct Trust {
    pub roots: Arc<rustls::RootCertStore>,
    /// `SSL_CERT_FILE=/path (132 certs)`, `platform dir /etc/ssl/certs (0 certs)`.
    pub sources: Vec<String>,
}

fn load_file(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_native_certs::load_certs_from_paths(Some(path), None).certs
}

fn load_dir(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    rustls_native_certs::load_certs_from_paths(None, Some(path)).certs
}

impl Trust {
    /// Reads the roots named by `ssl_cert_file` / `ssl_cert_dir` (the
    /// variables' values), else the platform's.
    pub fn load(
        ssl_cert_file: Option<&str>,
        ssl_cert_dir: Option<&str>,
    ) -> Result<Trust, NetError> {
        let mut store = rustls::RootCertStore::empty();
        let mut sources = Vec::new();
        let mut add = |label: String, certs: Vec<rustls::pki_types::CertificateDer<'static>>| {
            let (added, _) = store.add_parsable_certificates(certs);
            sources.push(format!("{label} ({added} certs)"));
        };
        match ssl_cert_file.filter(|f| !f.is_empty()) {
            Some(f) => add(format!("SSL_CERT_FILE={f}"), load_file(Path::new(f))),
            None => {
                let found = PLATFORM_FILES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file());
                if let Some(p) = found {
                    add(format!("platform file {}", p.display()), load_file(&p));
                }
            }
        }
        match ssl_cert_dir.filter(|d| !d.is_empty()) {
            Some(dirs) => {
                for d in dirs.split(':').filter(|d| !d.is_empty()) {
                    add(format!("SSL_CERT_DIR={d}"), load_dir(Path::new(d)));
                }
            }
            None => {
                for d in PLATFORM_DIRS.iter().map(Path::new).filter(|p| p.is_dir()) {
                    add(format!("platform dir {}", d.display()), load_dir(d));
                }
            }
        }
        if store.is_empty() {
            return Err(NetError::Config {
                setting: "TLS roots".into(),
                reason: format!(
                    "no trusted certificates found (read: {})",
                    if sources.is_empty() {
                        "nothing".to_string()
                    } else {
                        sources.join(", ")
                    }
                ),
            });
        }
        Ok(Trust {
            roots: Arc::new(store),
            sources,
        })
    }

    /// The trust sources as one line, for messages.
    pub fn describe(&self) -> String {
        self.sources.join(", ")
    }

    /// A TLS client configuration trusting these roots.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, NetError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| NetError::Config {
                setting: "TLS".into(),
                reason: e.to_string(),
            })?
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_and_dir_are_recorded_with_counts() {
        let Ok(system) = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle.pem");
        std::fs::write(&file, &system).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let f = file.to_str().unwrap();
        let d = empty.path().to_str().unwrap();
        let t = Trust::load(Some(f), Some(d)).unwrap();
        assert_eq!(t.sources.len(), 2, "{:?}", t.sources);
        assert!(t.sources[0].starts_with(&format!("SSL_CERT_FILE={f} (")));
        assert!(!t.sources[0].contains("(0 certs)"));
        assert_eq!(t.sources[1], format!("SSL_CERT_DIR={d} (0 certs)"));
        let none = Trust::load(Some("/nonexistent/bundle.pem"), Some(d));
        assert!(none
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/bundle.pem"));
    }
}
