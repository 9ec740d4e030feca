//! The remote settings: `--remote-*` over gobuildr.toml's `[remote]`.

use crate::cli::args::RemoteArgs;
use crate::failure::Failure;
use crate::remote::{Endpoint, RemoteConfig};
use crate::workspace::config::RemoteToml;

/// `NAME=VALUE` pairs of a repeatable flag; the value of a bad one is
/// never shown (it may be a token).
fn pairs(flag: &str, given: &[String]) -> Result<Vec<(String, String)>, Failure> {
    given
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Failure::Usage(format!("{flag}: expected NAME=VALUE"))),
        })
        .collect()
}

/// The configuration, each endpoint checked.
pub fn resolve(args: &RemoteArgs, toml: &RemoteToml) -> Result<RemoteConfig, Failure> {
    let mut headers: Vec<(String, String)> = toml.headers.clone().into_iter().collect();
    headers.extend(pairs("--remote-header", &args.remote_header)?);
    let mut platform: Vec<(String, String)> = toml.platform.clone().into_iter().collect();
    platform.extend(pairs("--remote-platform", &args.remote_platform)?);
    let config = RemoteConfig {
        cache: args.remote_cache.clone().or_else(|| toml.cache.clone()),
        executor: args
            .remote_executor
            .clone()
            .or_else(|| toml.executor.clone()),
        instance: args
            .remote_instance
            .clone()
            .or_else(|| toml.instance.clone())
            .unwrap_or_default(),
        headers,
        readonly: args.remote_cache_readonly || toml.readonly.unwrap_or(false),
        platform,
    };
    let origin = |flag: &Option<String>, key: &str| match flag {
        Some(_) => format!("--remote-{key}"),
        None => format!("gobuildr.toml [remote] {key}"),
    };
    let named = [
        (&config.cache, origin(&args.remote_cache, "cache")),
        (&config.executor, origin(&args.remote_executor, "executor")),
    ];
    for (url, origin) in named {
        if let Some(url) = url {
            Endpoint::parse(url).map_err(|e| Failure::Usage(format!("{origin}: {e}")))?;
        }
    }
    Ok(config)
}
