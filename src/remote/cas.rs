//! Blobs to and from the CAS: `FindMissingBlobs` before any upload, small
//! blobs in batches within the server's limit, large ones over ByteStream,
//! and every downloaded blob checked against its digest.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use bazel_remote_apis::google::bytestream::{self as bs, byte_stream_client::ByteStreamClient};
use tokio_stream::StreamExt;

use super::mapping::{Blob, DigestFn};
use super::{bump, Remote, RemoteError};

/// Larger blobs go over ByteStream, in chunks of this size.
const CHUNK: usize = 1 << 20;

/// Batches stay under gRPC's common 4 MiB message limit whatever the
/// server advertises (bazel-remote advertises no limit but has one).
pub const BATCH_LIMIT: usize = 3 << 20;

/// Digests per FindMissingBlobs call.
const FIND_BATCH: usize = 4096;

fn batches(
    blobs: Vec<(re::Digest, Arc<Vec<u8>>)>,
    limit: usize,
) -> Vec<Vec<(re::Digest, Arc<Vec<u8>>)>> {
    let mut out: Vec<Vec<_>> = Vec::new();
    let mut size = 0;
    for (d, data) in blobs {
        if out.is_empty() || size + data.len() > limit {
            out.push(Vec::new());
            size = 0;
        }
        size += data.len();
        if let Some(last) = out.last_mut() {
            last.push((d, data));
        }
    }
    out
}

/// A fresh upload id (ByteStream wants a UUID per write).
fn upload_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{}-{}-{:?}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
    );
    let h = blake3::hash(seed.as_bytes()).to_hex();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn ok_status(status: &Option<bazel_remote_apis::google::rpc::Status>) -> Result<(), String> {
    match status {
        Some(s) if s.code != 0 => Err(format!("code {}: {}", s.code, s.message)),
        _ => Ok(()),
    }
}

impl Remote<'_> {
    /// `blobs/[FUNCTION/]HASH/SIZE`, after the instance name if any.
    fn resource(&self, prefix: &str, d: &re::Digest) -> String {
        let function = match self.digest_fn() {
            DigestFn::Sha256 => String::new(),
            f => format!("{}/", f.name()),
        };
        let path = format!("{prefix}blobs/{function}{}/{}", d.hash, d.size_bytes);
        match self.conn.instance.as_str() {
            "" => path,
            i => format!("{i}/{path}"),
        }
    }

    fn protocol(&self, what: String) -> RemoteError {
        RemoteError::Protocol {
            server: self.conn.cache_name.clone(),
            what,
        }
    }

    /// The digests the CAS does not have.
    fn missing(&self, digests: Vec<re::Digest>) -> Result<Vec<re::Digest>, RemoteError> {
        let mut missing = Vec::new();
        for chunk in digests.chunks(FIND_BATCH) {
            let req = re::FindMissingBlobsRequest {
                instance_name: self.conn.instance.clone(),
                blob_digests: chunk.to_vec(),
                digest_function: self.digest_fn().proto(),
            };
            let resp = self.conn.call(&self.conn.cache_name, || {
                let (mut cas, req) = (self.conn.cas(), req.clone());
                async move { Ok(cas.find_missing_blobs(req).await?.into_inner()) }
            })?;
            missing.extend(resp.missing_blob_digests);
        }
        Ok(missing)
    }

    /// Puts every blob the CAS lacks.
    pub(super) fn upload(&self, blobs: &[(re::Digest, Blob)]) -> Result<(), RemoteError> {
        let unique: BTreeMap<&str, &(re::Digest, Blob)> =
            blobs.iter().map(|b| (b.0.hash.as_str(), b)).collect();
        let missing = self.missing(unique.values().map(|(d, _)| d.clone()).collect())?;
        let mut small = Vec::new();
        for d in missing {
            let Some((_, blob)) = unique.get(d.hash.as_str()) else {
                continue;
            };
            let data = blob.read()?;
            if data.len() > CHUNK {
                self.stream_upload(&d, &data)?;
            } else {
                small.push((d, data));
            }
        }
        for batch in batches(small, self.session().max_batch) {
            self.batch_upload(batch)?;
        }
        Ok(())
    }

    fn batch_upload(&self, batch: Vec<(re::Digest, Arc<Vec<u8>>)>) -> Result<(), RemoteError> {
        let size: usize = batch.iter().map(|(_, d)| d.len()).sum();
        let req = re::BatchUpdateBlobsRequest {
            instance_name: self.conn.instance.clone(),
            requests: batch
                .into_iter()
                .map(|(d, data)| re::batch_update_blobs_request::Request {
                    digest: Some(d),
                    data: data.to_vec(),
                    compressor: 0,
                })
                .collect(),
            digest_function: self.digest_fn().proto(),
        };
        let resp = self.conn.call(&self.conn.cache_name, || {
            let (mut cas, req) = (self.conn.cas(), req.clone());
            async move { Ok(cas.batch_update_blobs(req).await?.into_inner()) }
        })?;
        for r in resp.responses {
            let hash = r.digest.map(|d| d.hash).unwrap_or_default();
            ok_status(&r.status).map_err(|e| self.protocol(format!("storing blob {hash}: {e}")))?;
        }
        bump(&self.stats.up, size as u64);
        Ok(())
    }

    fn stream_upload(&self, d: &re::Digest, data: &Arc<Vec<u8>>) -> Result<(), RemoteError> {
        let name = self.resource(&format!("uploads/{}/", upload_id()), d);
        let resp = self.conn.call(&self.conn.cache_name, || {
            let mut client = ByteStreamClient::new(self.conn.cache_service());
            let chunks: Vec<bs::WriteRequest> = data
                .chunks(CHUNK)
                .enumerate()
                .map(|(i, c)| bs::WriteRequest {
                    resource_name: if i == 0 { name.clone() } else { String::new() },
                    write_offset: (i * CHUNK) as i64,
                    finish_write: (i + 1) * CHUNK >= data.len(),
                    data: c.to_vec(),
                })
                .collect();
            async move { Ok(client.write(tokio_stream::iter(chunks)).await?.into_inner()) }
        })?;
        // A blob the server already had may report -1 (bazel-remote).
        if resp.committed_size != d.size_bytes && resp.committed_size != -1 {
            return Err(self.protocol(format!(
                "stored {} of {} bytes of blob {}",
                resp.committed_size, d.size_bytes, d.hash
            )));
        }
        bump(&self.stats.up, data.len() as u64);
        Ok(())
    }

    /// Fetches blobs, each checked against its digest; keyed by hash.
    pub(super) fn download(
        &self,
        digests: &[re::Digest],
    ) -> Result<HashMap<String, Vec<u8>>, RemoteError> {
        let mut out = HashMap::new();
        let mut small = Vec::new();
        for d in digests {
            if d.size_bytes as usize > CHUNK {
                out.insert(d.hash.clone(), self.stream_download(d)?);
            } else {
                small.push(d.clone());
            }
        }
        let mut batch = Vec::new();
        let mut size = 0;
        for d in small {
            if size + d.size_bytes as usize > self.session().max_batch && !batch.is_empty() {
                out.extend(self.batch_download(std::mem::take(&mut batch))?);
                size = 0;
            }
            size += d.size_bytes as usize;
            batch.push(d);
        }
        if !batch.is_empty() {
            out.extend(self.batch_download(batch)?);
        }
        for d in digests {
            self.check(d, out.get(&d.hash).map(Vec::as_slice).unwrap_or_default())?;
        }
        Ok(out)
    }

    fn batch_download(
        &self,
        digests: Vec<re::Digest>,
    ) -> Result<Vec<(String, Vec<u8>)>, RemoteError> {
        let req = re::BatchReadBlobsRequest {
            instance_name: self.conn.instance.clone(),
            digests,
            acceptable_compressors: Vec::new(),
            digest_function: self.digest_fn().proto(),
        };
        let resp = self.conn.call(&self.conn.cache_name, || {
            let (mut cas, req) = (self.conn.cas(), req.clone());
            async move { Ok(cas.batch_read_blobs(req).await?.into_inner()) }
        })?;
        let mut out = Vec::new();
        for r in resp.responses {
            let hash = r.digest.map(|d| d.hash).unwrap_or_default();
            ok_status(&r.status).map_err(|e| self.protocol(format!("reading blob {hash}: {e}")))?;
            bump(&self.stats.down, r.data.len() as u64);
            out.push((hash, r.data));
        }
        Ok(out)
    }

    fn stream_download(&self, d: &re::Digest) -> Result<Vec<u8>, RemoteError> {
        let req = bs::ReadRequest {
            resource_name: self.resource("", d),
            read_offset: 0,
            read_limit: 0,
        };
        let data = self.conn.call(&self.conn.cache_name, || {
            let mut client = ByteStreamClient::new(self.conn.cache_service());
            let req = req.clone();
            async move {
                let mut stream = client.read(req).await?.into_inner();
                let mut data = Vec::new();
                while let Some(chunk) = stream.next().await {
                    data.extend(chunk?.data);
                }
                Ok(data)
            }
        })?;
        bump(&self.stats.down, data.len() as u64);
        Ok(data)
    }

    /// A blob is used only if it hashes to its digest.
    fn check(&self, d: &re::Digest, data: &[u8]) -> Result<(), RemoteError> {
        if self.digest_fn().of_bytes(data) == *d {
            return Ok(());
        }
        bump(&self.stats.refused, 1);
        Err(RemoteError::Corrupt {
            server: self.conn.cache_name.clone(),
            digest: format!("{}/{}", d.hash, d.size_bytes),
        })
    }
}
