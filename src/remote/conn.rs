//! Channels to the servers: endpoints, TLS with the platform's roots,
//! headers on every call, and retries with backoff.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig};

use super::{RemoteConfig, RemoteError};

/// Calls that may succeed if tried again: the server is restarting,
/// overloaded, or the connection dropped.
pub fn unavailable(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unknown
            | tonic::Code::Cancelled
            | tonic::Code::ResourceExhausted
    )
}

/// Tries after the first, with the pause before each.
const RETRY_PAUSES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(900),
];

/// A `grpc://` or `grpcs://` server address.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// As the user wrote it (what messages name).
    pub shown: String,
    uri: String,
    tls: bool,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, RemoteError> {
        let bad = |why: &str| RemoteError::Endpoint {
            url: url.into(),
            why: why.into(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected grpc://HOST:PORT or grpcs://HOST:PORT"))?;
        let tls = match scheme {
            "grpc" => false,
            "grpcs" => true,
            _ => return Err(bad("the scheme must be grpc or grpcs")),
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(bad("expected HOST:PORT after the scheme"));
        }
        let scheme = if tls { "https" } else { "http" };
        Ok(Endpoint {
            shown: url.into(),
            uri: format!("{scheme}://{host}"),
            tls,
        })
    }

    fn channel(&self, timeout: Duration) -> Result<Channel, RemoteError> {
        let bad = |e: tonic::transport::Error| RemoteError::Endpoint {
            url: self.shown.clone(),
            why: e.to_string(),
        };
        let mut ep = tonic::transport::Endpoint::from_shared(self.uri.clone())
            .map_err(bad)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .tcp_nodelay(true);
        if self.tls {
            // The platform's roots, as rustls-native-certs reads them
            // (SSL_CERT_FILE and SSL_CERT_DIR honoured).
            ep = ep
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(bad)?;
        }
        Ok(ep.connect_lazy())
    }
}

/// Adds the configured headers to every call.
#[derive(Clone)]
pub struct Headers(Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>);

impl Headers {
    fn parse(headers: &[(String, String)]) -> Result<Headers, RemoteError> {
        let mut out = Vec::new();
        for (k, v) in headers {
            let bad = |why: &str| RemoteError::Endpoint {
                url: format!("--remote-header {k}"),
                why: why.into(),
            };
            let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| bad("not a valid header name"))?;
            // The value is a secret: the error never shows it.
            let value =
                AsciiMetadataValue::try_from(v.as_str()).map_err(|_| bad("value is not ASCII"))?;
            out.push((key, value));
        }
        Ok(Headers(Arc::new(out)))
    }
}

impl tonic::service::Interceptor for Headers {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        for (k, v) in self.0.iter() {
            req.metadata_mut().insert(k.clone(), v.clone());
        }
        Ok(req)
    }
}

pub type Service = InterceptedService<Channel, Headers>;

/// The open connections: the cache (CAS, action cache, capabilities) and
/// the executor, with the runtime their calls run on.
pub struct Conn {
    rt: tokio::runtime::Runtime,
    cache: Channel,
    exec: Option<Channel>,
    headers: Headers,
    /// Raised on interrupt: calls in flight return at once.
    cancelled: tokio::sync::watch::Sender<bool>,
    pub instance: String,
    /// What messages call the cache server and the executor.
    pub cache_name: String,
    pub exec_name: String,
}

/// Most blobs, results and capabilities are small; the limit is for the
/// largest batch the server may send.
const MAX_MESSAGE: usize = 64 << 20;

impl Conn {
    pub fn open(config: &RemoteConfig) -> Result<Conn, RemoteError> {
        let exec = config
            .executor
            .as_deref()
            .map(Endpoint::parse)
            .transpose()?;
        // With only an executor, its server is the cache too (as Bazel does).
        let cache = match (&config.cache, &exec) {
            (Some(url), _) => Endpoint::parse(url)?,
            (None, Some(e)) => e.clone(),
            (None, None) => {
                return Err(RemoteError::Endpoint {
                    url: String::new(),
                    why: "no remote cache or executor configured".into(),
                })
            }
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Endpoint {
                url: cache.shown.clone(),
                why: format!("starting the gRPC runtime: {e}"),
            })?;
        // Channels start their connections on the runtime.
        let _guard = rt.enter();
        Ok(Conn {
            cache: cache.channel(Duration::from_secs(60))?,
            exec: exec
                .as_ref()
                .map(|e| e.channel(Duration::from_secs(30 * 60)))
                .transpose()?,
            headers: Headers::parse(&config.headers)?,
            cancelled: tokio::sync::watch::channel(false).0,
            instance: config.instance.clone(),
            cache_name: format!("remote cache {}", cache.shown),
            exec_name: exec
                .map(|e| format!("remote executor {}", e.shown))
                .unwrap_or_default(),
            rt,
        })
    }

    pub fn cache_service(&self) -> Service {
        InterceptedService::new(self.cache.clone(), self.headers.clone())
    }

    pub fn exec_service(&self) -> Option<Service> {
        let ch = self.exec.clone()?;
        Some(InterceptedService::new(ch, self.headers.clone()))
    }

    pub fn cas(
        &self,
    ) -> re::content_addressable_storage_client::ContentAddressableStorageClient<Service> {
        re::content_addressable_storage_client::ContentAddressableStorageClient::new(
            self.cache_service(),
        )
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn ac(&self) -> re::action_cache_client::ActionCacheClient<Service> {
        re::action_cache_client::ActionCacheClient::new(self.cache_service())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// Runs `f` to completion, trying again with backoff while the server
    /// is unavailable.
    pub fn call<T, F, Fut>(&self, server: &str, f: F) -> Result<T, RemoteError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        let mut cancelled = self.cancelled.subscribe();
        self.rt.block_on(async {
            let mut pauses = RETRY_PAUSES.iter();
            loop {
                let result = tokio::select! {
                    r = f() => r,
                    _ = cancelled.wait_for(|c| *c) => return Err(RemoteError::Interrupted),
                };
                match result {
                    Ok(v) => return Ok(v),
                    Err(s) => match pauses.next().filter(|_| unavailable(s.code())) {
                        Some(pause) => tokio::time::sleep(*pause).await,
                        None => {
                            return Err(RemoteError::Status {
                                server: server.into(),
                                status: Box::new(s),
                            })
                        }
                    },
                }
            }
        })
    }

    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
    }

    /// The cache server's capabilities.
    pub fn capabilities(&self) -> Result<re::ServerCapabilities, RemoteError> {
        let req = re::GetCapabilitiesRequest {
            instance_name: self.instance.clone(),
        };
        self.call(&self.cache_name, || {
            let mut client = re::capabilities_client::CapabilitiesClient::new(self.cache_service());
            let req = req.clone();
            async move { Ok(client.get_capabilities(req).await?.into_inner()) }
        })
    }
}
