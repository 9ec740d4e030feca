//! gobuildr's one HTTP client: every download (module proxies, pinned
//! toolchains, the checksum database) goes through [`Client::get`].
//!
//! It owns trust (the platform's roots, SSL_CERT_FILE, SSL_CERT_DIR, as Go
//! reads them), proxies (HTTPS_PROXY, HTTP_PROXY, NO_PROXY with Go's
//! matching), credentials (GOAUTH), timeouts and bounded retries.
//! Statuses are values: a 404 is a [`Response`], not an error; a
//! [`NetError`] is a transport failure.
//!
//! Invariants: no credential (URL userinfo, proxy userinfo, netrc or
//! GOAUTH headers) appears in an error, a log line or `Debug` output —
//! URLs are shown through [`redact`]; a client is built at most once per
//! run ([`LazyClient`]) and building one starts no process.

pub mod auth;
pub mod proxy;
pub mod redact;
pub mod trust;

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub use redact::redact;

use auth::{Auth, Headers};
use proxy::{NoProxy, ProxyEnv, ProxyUrl};
use trust::Trust;

#[derive(Debug, Clone, thiserror::Error)]
pub enum NetError {
    #[error("{url}: TLS with {host} failed: {reason} (trusted roots: {trust})")]
    Tls {
        url: String,
        host: String,
        reason: String,
        trust: String,
    },
    #[error("{url}: {reason}{}", tries(*attempts))]
    Transport {
        url: String,
        reason: String,
        attempts: u32,
    },
    #[error("{url}: {reason}")]
    File { url: String, reason: String },
    #[error("{url}: cannot fetch this URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{setting}: {reason}")]
    Config { setting: String, reason: String },
}

fn tries(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// A response of any status; the caller decides what a status means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// 404 or 410: the source does not have it (GOPROXY's `,` falls
    /// through only on these).
    pub fn is_not_found(&self) -> bool {
        self.status == 404 || self.status == 410
    }
}

/// Everything a client is built from; `Debug` shows no credentials.
#[derive(Clone)]
pub struct NetConfig {
    pub goauth: String,
    /// `$NETRC`, else `~/.netrc`.
    pub netrc: Option<PathBuf>,
    pub proxies: ProxyEnv,
    pub ssl_cert_file: Option<String>,
    pub ssl_cert_dir: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Attempts per request (1 = no retry).
    pub attempts: u32,
    /// The first retry's delay; each later one doubles it.
    pub backoff: Duration,
}

impl std::fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetConfig")
            .field("goauth_methods", &self.goauth.split(';').count())
            .field("netrc", &self.netrc)
            .field("proxies", &self.proxies)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl NetConfig {
    /// From this process's environment and the resolved GOAUTH.
    pub fn from_env(goauth: &str) -> Result<NetConfig, NetError> {
        NetConfig::from_lookup(goauth, &|k| std::env::var(k).ok())
    }

    pub fn from_lookup(
        goauth: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<NetConfig, NetError> {
        let set = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let netrc = set("NETRC")
            .map(PathBuf::from)
            .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".netrc")));
        let read_timeout = match set("GOBUILDR_HTTP_TIMEOUT") {
            Some(s) => Duration::from_secs(s.trim().parse().map_err(|_| NetError::Config {
                setting: "GOBUILDR_HTTP_TIMEOUT".into(),
                reason: format!("{s:?} is not a number of seconds"),
            })?),
            None => Duration::from_secs(60),
        };
        Ok(NetConfig {
            goauth: goauth.to_string(),
            netrc,
            proxies: ProxyEnv::from_lookup(lookup),
            ssl_cert_file: set("SSL_CERT_FILE"),
            ssl_cert_dir: set("SSL_CERT_DIR"),
            connect_timeout: Duration::from_secs(30).min(read_timeout.max(Duration::from_secs(1))),
            read_timeout,
            attempts: 3,
            backoff: Duration::from_millis(200),
        })
    }
}

/// One agent per route: direct, or through one proxy.
struct Route {
    agent: ureq::Agent,
    proxy: Option<ProxyUrl>,
}

/// The HTTP client. Send + Sync: downloads share it across threads.
pub struct Client {
    direct: Route,
    https_proxy: Option<Route>,
    http_proxy: Option<Route>,
    no_proxy: NoProxy,
    auth: Auth,
    trust: Trust,
    attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("https_proxy", &self.https_proxy.as_ref().map(|r| &r.proxy))
            .field("http_proxy", &self.http_proxy.as_ref().map(|r| &r.proxy))
            .field("auth", &self.auth)
            .field("trust", &self.trust.sources)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    error: NetError,
    retry: bool,
}

fn agent(
    config: &NetConfig,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    proxy: Option<&ProxyUrl>,
) -> Result<ureq::Agent, NetError> {
    let mut b = ureq::AgentBuilder::new()
        .tls_config(tls.clone())
        .timeout_connect(config.connect_timeout)
        .timeout_read(config.read_timeout)
        .timeout_write(config.read_timeout)
        .user_agent(concat!("gobuildr/", env!("CARGO_PKG_VERSION")));
    if let Some(p) = proxy {
        if p.scheme != "http" {
            return Err(NetError::Config {
                setting: "HTTPS_PROXY/HTTP_PROXY".into(),
                reason: format!("{p}: only http:// proxies are supported"),
            });
        }
        let spec = match &p.user {
            Some((u, pw)) => format!("http://{u}:{pw}@{}:{}", p.host, p.port),
            None => format!("http://{}:{}", p.host, p.port),
        };
        let proxy = ureq::Proxy::new(spec).map_err(|_| NetError::Config {
            setting: "HTTPS_PROXY/HTTP_PROXY".into(),
            reason: format!("{p}: not a usable proxy"),
        })?;
        b = b.proxy(proxy);
    }
    Ok(b.build())
}

fn route(
    config: &NetConfig,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    raw: Option<&String>,
) -> Result<Option<Route>, NetError> {
    let Some(raw) = raw else { return Ok(None) };
    let proxy = ProxyUrl::parse(raw).map_err(|reason| NetError::Config {
        setting: "HTTPS_PROXY/HTTP_PROXY".into(),
        reason,
    })?;
    Ok(Some(Route {
        agent: agent(config, tls, Some(&proxy))?,
        proxy: Some(proxy),
    }))
}

impl Client {
    /// Builds the client: reads the trust roots and parses the proxy and
    /// GOAUTH settings (no command runs until a request needs it).
    pub fn new(config: &NetConfig) -> Result<Client, NetError> {
        let trust = Trust::load(
            config.ssl_cert_file.as_deref(),
            config.ssl_cert_dir.as_deref(),
        )?;
        let tls = trust.client_config()?;
        Ok(Client {
            direct: Route {
                agent: agent(config, &tls, None)?,
                proxy: None,
            },
            https_proxy: route(config, &tls, config.proxies.https.as_ref())?,
            http_proxy: route(config, &tls, config.proxies.http.as_ref())?,
            no_proxy: NoProxy::parse(&config.proxies.no_proxy),
            auth: Auth::parse(&config.goauth, config.netrc.clone())?,
            trust,
            attempts: config.attempts.max(1),
            backoff: config.backoff,
        })
    }

    /// Where the trusted roots came from (`SSL_CERT_FILE=/path (132 certs)`).
    pub fn trust_sources(&self) -> &[String] {
        &self.trust.sources
    }

    /// GETs a URL (https, http or file). Non-2xx statuses are returned
    /// as values; a missing file is a 404.
    pub fn get(&self, url: &str) -> Result<Response, NetError> {
        self.get_observed(url, &|_| {})
    }

    /// [`Client::get`], reporting body bytes as they arrive.
    pub fn get_observed(&self, url: &str, on_bytes: &dyn Fn(u64)) -> Result<Response, NetError> {
        if url.starts_with("file://") {
            return file_get(url);
        }
        let parsed = url::Url::parse(url).map_err(|e| NetError::BadUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(NetError::BadUrl {
                url: redact(url),
                reason: format!("unsupported scheme {:?}", parsed.scheme()),
            });
        }
        let headers = self.auth.headers_for(url)?;
        let (resp, head) = self.with_retries(url, &parsed, &headers, on_bytes)?;
        if (400..500).contains(&resp.status) && self.auth.enabled() && parsed.scheme() == "https" {
            // GOAUTH's protocol: commands see the 4xx and may issue
            // URL-specific credentials, tried once.
            if let Ok(fresh) = self.auth.refresh(url, &head) {
                if !fresh.0.is_empty() && fresh != headers {
                    return Ok(self.with_retries(url, &parsed, &fresh, on_bytes)?.0);
                }
            }
        }
        Ok(resp)
    }

    fn route_for(&self, url: &url::Url) -> &Route {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(0);
        let proxied = match url.scheme() {
            "https" => self.https_proxy.as_ref(),
            _ => self.http_proxy.as_ref(),
        };
        match proxied {
            Some(r) if self.no_proxy.use_proxy(host, port) => r,
            _ => &self.direct,
        }
    }

    fn with_retries(
        &self,
        url: &str,
        parsed: &url::Url,
        headers: &Headers,
        on_bytes: &dyn Fn(u64),
    ) -> Result<(Response, String), NetError> {
        let mut attempt = 1;
        loop {
            let last = attempt >= self.attempts;
            match self.once(url, parsed, headers, on_bytes) {
                Ok((r, _)) if retryable_status(r.status) && !last => {}
                Ok(x) => return Ok(x),
                Err(f) if f.retry && !last => {}
                Err(f) => return Err(with_attempts(f.error, attempt)),
            }
            std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
            attempt += 1;
        }
    }

    fn once(
        &self,
        url: &str,
        parsed: &url::Url,
        headers: &Headers,
        on_bytes: &dyn Fn(u64),
    ) -> Result<(Response, String), Failure> {
        let route = self.route_for(parsed);
        let mut req = route.agent.get(url);
        for (k, v) in &headers.0 {
            req = req.set(k, v);
        }
        // ureq authenticates to a proxy only for CONNECT (https); plain
        // http requests through it carry the header themselves.
        if let (Some(p), "http") = (&route.proxy, parsed.scheme()) {
            if let Some((u, pw)) = &p.user {
                let token = auth::basic(u, pw);
                for (_, v) in &token.0 {
                    req = req.set("Proxy-Authorization", v);
                }
            }
        }
        let resp = match req.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(self.classify(url, parsed, &t)),
        };
        let head = response_head(&resp);
        let status = resp.status();
        let body = read_body(resp, on_bytes).map_err(|e| Failure {
            error: NetError::Transport {
                url: redact(url),
                reason: format!("reading the response: {e}"),
                attempts: 1,
            },
            retry: true,
        })?;
        Ok((Response { status, body }, head))
    }

    fn classify(&self, url: &str, parsed: &url::Url, t: &ureq::Transport) -> Failure {
        let reason = describe(t);
        if let Some(tls) = tls_cause(t) {
            return Failure {
                error: NetError::Tls {
                    url: redact(url),
                    host: parsed.host_str().unwrap_or("").to_string(),
                    reason: tls,
                    trust: self.trust.describe(),
                },
                retry: false,
            };
        }
        let retry = matches!(
            t.kind(),
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Io | ureq::ErrorKind::ProxyConnect
        );
        Failure {
            error: NetError::Transport {
                url: redact(url),
                reason,
                attempts: 1,
            },
            retry,
        }
    }
}

fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

fn with_attempts(e: NetError, n: u32) -> NetError {
    match e {
        NetError::Transport { url, reason, .. } => NetError::Transport {
            url,
            reason,
            attempts: n,
        },
        other => other,
    }
}

/// The status line and headers, as GOAUTH commands read them on stdin.
fn response_head(resp: &ureq::Response) -> String {
    let mut s = format!(
        "{} {} {}\n",
        resp.http_version(),
        resp.status(),
        resp.status_text()
    );
    for name in resp.headers_names() {
        s.push_str(&format!("{name}: {}\n", resp.header(&name).unwrap_or("")));
    }
    s.push('\n');
    s
}

fn read_body(resp: ureq::Response, on_bytes: &dyn Fn(u64)) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&buf[..n]);
        on_bytes(n as u64);
    }
}

/// A transport error's kind, message and causes — not ureq's own
/// `Display`, which starts with the (unredacted) URL.
fn describe(t: &ureq::Transport) -> String {
    let mut parts = vec![t.kind().to_string()];
    parts.extend(t.message().map(str::to_string));
    let mut cause = std::error::Error::source(t);
    while let Some(c) = cause {
        parts.push(c.to_string());
        cause = c.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// The rustls error in a transport error's causes, if TLS failed.
fn tls_cause(t: &ureq::Transport) -> Option<String> {
    let mut cause = std::error::Error::source(t);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        // io::Error hides its payload from `source()`.
        if let Some(inner) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(inner.to_string());
        }
        cause = c.source();
    }
    None
}

/// `file://` URLs: a missing file is a 404, as a file proxy means it.
pub fn file_get(url: &str) -> Result<Response, NetError> {
    let path = url::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .unwrap_or_else(|| PathBuf::from(url.trim_start_matches("file://")));
    match std::fs::read(&path) {
        Ok(body) => Ok(Response { status: 200, body }),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Response {
                status: 404,
                body: Vec::new(),
            })
        }
        Err(e) => Err(NetError::File {
            url: redact(url),
            reason: e.to_string(),
        }),
    }
}

/// A client built on first use and shared for the rest of the run: a
/// build whose modules are all cached never reads trust roots.
pub struct LazyClient {
    config: NetConfig,
    cell: OnceLock<Result<Client, NetError>>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("config", &self.config)
            .field("built", &self.cell.get().is_some())
            .finish()
    }
}

impl LazyClient {
    pub fn new(config: NetConfig) -> LazyClient {
        LazyClient {
            config,
            cell: OnceLock::new(),
        }
    }

    pub fn get(&self) -> Result<&Client, NetError> {
        self.cell
            .get_or_init(|| Client::new(&self.config))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    fn config(lookup: &dyn Fn(&str) -> Option<String>) -> NetConfig {
        let mut c = NetConfig::from_lookup("off", lookup).unwrap();
        c.backoff = Duration::from_millis(1);
        c
    }

    /// A one-thread HTTP server answering each connection with the next
    /// status; returns its address and the request heads it saw.
    fn serve(statuses: Vec<u16>) -> (String, std::sync::mpsc::Receiver<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for status in statuses {
                let (mut s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    head.push_str(&line);
                }
                let _ = tx.send(head);
                let body = format!("status {status}");
                write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        (addr, rx)
    }

    #[test]
    fn statuses_are_values_and_5xx_is_retried_but_4xx_is_not() {
        let (addr, rx) = serve(vec![503, 502, 200, 404]);
        let c = Client::new(&config(&|_| None)).unwrap();
        let r = c.get(&format!("http://{addr}/a")).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"status 200"[..]));
        assert_eq!(rx.try_iter().count(), 3);
        let r = c.get(&format!("http://{addr}/b")).unwrap();
        assert!(r.is_not_found());
        assert_eq!(rx.try_iter().count(), 1);
    }

    #[test]
    fn loopback_bypasses_proxies_and_credentials_stay_hidden() {
        let (addr, rx) = serve(vec![200]);
        let env = |k: &str| (k == "HTTP_PROXY").then(|| "http://u:sekrit@192.0.2.1:9".to_string());
        let c = Client::new(&config(&env)).unwrap();
        assert!(!format!("{c:?}").contains("sekrit"));
        let r = c.get(&format!("http://u:pw@{addr}/x")).unwrap();
        assert_eq!(r.status, 200);
        let head = rx.recv().unwrap();
        assert!(head.starts_with("GET /x "), "not proxied: {head}");
        // A transport error names the URL without its userinfo.
        let e = c
            .get("http://u:pw@127.0.0.1:9/none")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("http://127.0.0.1:9/none") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn proxied_http_requests_use_absolute_form_and_proxy_auth() {
        let (addr, rx) = serve(vec![200]);
        let proxy = format!("http://al:pw@{addr}");
        let env = move |k: &str| (k == "HTTP_PROXY").then(|| proxy.clone());
        let c = Client::new(&config(&env)).unwrap();
        let r = c.get("http://modules.example/m/@v/list").unwrap();
        assert_eq!(r.status, 200);
        let head = rx.recv().unwrap();
        assert!(
            head.starts_with("GET http://modules.example/m/@v/list "),
            "{head}"
        );
        assert!(
            head.contains("Proxy-Authorization: Basic YWw6cHc="),
            "{head}"
        );
    }

    #[test]
    fn file_urls_read_from_disk_with_404_for_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let c = Client::new(&config(&|_| None)).unwrap();
        let base = format!("file://{}", dir.path().display());
        assert_eq!(c.get(&format!("{base}/f")).unwrap().body, b"x");
        assert_eq!(c.get(&format!("{base}/missing")).unwrap().status, 404);
        assert_eq!(c.get(&format!("{base}/f/under")).unwrap().status, 404);
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
        check::<LazyClient>();
    }
}
