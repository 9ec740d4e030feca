//! The scheduler's cache and executor, remote: the local cache first, then
//! the remote action cache; the remote executor for actions that can run
//! there, the local sandbox for the rest and whenever the server is gone.

use std::sync::{Condvar, Mutex};
use std::time::{Instant, SystemTime};

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use bazel_remote_apis::google::longrunning::operation;
use prost::Message;
use tokio_stream::StreamExt;

use super::mapping::{Blob, SANDBOX_MARKER};
use super::{bump, Remote, RemoteError};
use crate::cache::{ActionEntry, Cache, OutputEntry};
use crate::plan::TOOLDIR;
use crate::schedule::{ActionCache, ActionError, ExecResult, Executor, Hit, Origin, Request};

/// The executable output (a linked binary).
const BINARY: &str = "obj/a.out";

/// How often a dropped Execute stream is resumed with WaitExecution.
const RESUMES: usize = 5;

impl Remote<'_> {
    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        bump(&self.stats.micros, t.elapsed().as_micros() as u64);
        out
    }

    fn status(&self, server: &str, code: i32, message: String) -> RemoteError {
        RemoteError::Status {
            server: server.into(),
            status: Box::new(tonic::Status::new(tonic::Code::from(code), message)),
        }
    }

    /// The remote action cache's entry for an action, its outputs stored
    /// in the local CAS; None on a miss or a failed action's entry.
    fn fetch_cached(&self, req: &Request) -> Result<Option<ActionEntry>, RemoteError> {
        self.negotiate()?;
        let mapped = self.mapper.map(req, self.digest_fn())?;
        let get = re::GetActionResultRequest {
            instance_name: self.conn.instance.clone(),
            action_digest: Some(mapped.action.clone()),
            inline_stdout: true,
            inline_stderr: true,
            digest_function: self.digest_fn().proto(),
            ..Default::default()
        };
        let found = self.conn.call(&self.conn.cache_name, || {
            let (mut ac, get) = (self.conn.ac(), get.clone());
            async move {
                match ac.get_action_result(get).await {
                    Ok(r) => Ok(Some(r.into_inner())),
                    Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
                    Err(s) => Err(s),
                }
            }
        })?;
        match found.filter(|r| r.exit_code == 0) {
            Some(result) => Ok(Some(ActionEntry {
                outputs: self.materialize(req, &result)?,
                output: self.output_text(req, &result)?,
                seconds: 0.0,
            })),
            None => Ok(None),
        }
    }

    /// Fetches a result's outputs into the local CAS.
    fn materialize(
        &self,
        req: &Request,
        result: &re::ActionResult,
    ) -> Result<Vec<OutputEntry>, RemoteError> {
        let mut wanted = Vec::new();
        for name in &req.action.outputs {
            let file = result.output_files.iter().find(|f| f.path == *name);
            let digest =
                file.and_then(|f| f.digest.clone())
                    .ok_or_else(|| RemoteError::MissingOutput {
                        server: self.conn.cache_name.clone(),
                        action: req.action.package.clone(),
                        output: name.clone(),
                    })?;
            wanted.push((name, digest));
        }
        let digests: Vec<re::Digest> = wanted.iter().map(|(_, d)| d.clone()).collect();
        let blobs = self.download(&digests)?;
        wanted
            .into_iter()
            .map(|(name, d)| {
                let data = blobs.get(&d.hash).map(Vec::as_slice).unwrap_or_default();
                self.store_local(name, data)
            })
            .collect()
    }

    /// A downloaded output into the local CAS (mtime zero, as local ones).
    fn store_local(&self, name: &str, data: &[u8]) -> Result<OutputEntry, RemoteError> {
        let cache = self.mapper.cache();
        let tmp =
            tempfile::NamedTempFile::new_in(cache.tmp_dir()).map_err(|source| RemoteError::Io {
                path: cache.tmp_dir().into(),
                source,
            })?;
        let at = tmp.path().to_path_buf();
        let io = |source| RemoteError::Io {
            path: at.clone(),
            source,
        };
        std::fs::write(&at, data).map_err(io)?;
        tmp.as_file()
            .set_modified(SystemTime::UNIX_EPOCH)
            .map_err(io)?;
        // put_file moves it into the CAS (or keeps the blob already
        // there); the temp file's drop removes whatever is left.
        let (digest, size) = cache.put_file(&at)?;
        Ok(OutputEntry {
            name: name.into(),
            digest,
            size,
        })
    }

    /// What the tool printed, with the worker's sandbox path rewritten as
    /// the local sandbox's is.
    fn output_text(&self, req: &Request, result: &re::ActionResult) -> Result<String, RemoteError> {
        let stdout = self.stream_text(&result.stdout_raw, &result.stdout_digest)?;
        let stderr = self.stream_text(&result.stderr_raw, &result.stderr_digest)?;
        let (sandbox, stderr) = match stderr.strip_prefix(SANDBOX_MARKER) {
            Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
            None => ("", stderr.as_str()),
        };
        let text = format!("{stdout}{stderr}");
        if sandbox.is_empty() {
            return Ok(text);
        }
        let sb = std::path::Path::new(sandbox);
        Ok(crate::exec::rewrite_paths(
            &text,
            sb,
            &req.action.src_display,
        ))
    }

    fn stream_text(&self, raw: &[u8], digest: &Option<re::Digest>) -> Result<String, RemoteError> {
        let bytes = match digest
            .as_ref()
            .filter(|d| raw.is_empty() && d.size_bytes > 0)
        {
            Some(d) => self
                .download(std::slice::from_ref(d))?
                .remove(&d.hash)
                .unwrap_or_default(),
            None => raw.to_vec(),
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Shares the result of an action run here: outputs first, then the
    /// entry that names them.
    fn publish(&self, req: &Request, entry: &ActionEntry) -> Result<(), RemoteError> {
        self.negotiate()?;
        let mapped = self.mapper.map(req, self.digest_fn())?;
        let mut blobs = mapped.own.clone();
        let mut files = Vec::new();
        for o in &entry.outputs {
            let path = self.mapper.cache().blob_path(&o.digest);
            let digest = self
                .mapper
                .content_digest(&path, o.digest, self.digest_fn())?;
            files.push(re::OutputFile {
                path: o.name.clone(),
                digest: Some(digest.clone()),
                is_executable: o.name == BINARY,
                ..Default::default()
            });
            blobs.push((digest, Blob::File(path)));
        }
        self.upload(&blobs)?;
        let update = re::UpdateActionResultRequest {
            instance_name: self.conn.instance.clone(),
            action_digest: Some(mapped.action.clone()),
            action_result: Some(re::ActionResult {
                output_files: files,
                exit_code: 0,
                stdout_raw: entry.output.clone().into_bytes(),
                ..Default::default()
            }),
            digest_function: self.digest_fn().proto(),
            ..Default::default()
        };
        self.conn.call(&self.conn.cache_name, || {
            let (mut ac, update) = (self.conn.ac(), update.clone());
            async move { Ok(ac.update_action_result(update).await?.into_inner()) }
        })?;
        Ok(())
    }

    /// Runs an action on the remote executor; its outputs end in the local
    /// CAS.
    fn run_remote(&self, req: &Request) -> Result<ExecResult, RemoteError> {
        let start = Instant::now();
        self.negotiate()?;
        let mapped = self.mapper.map(req, self.digest_fn())?;
        self.upload(&mapped.blobs)?;
        let resp = match self.execute(&mapped.action) {
            // An input the CAS dropped since it was found: upload, once more.
            Err(RemoteError::Status { status, .. })
                if status.code() == tonic::Code::FailedPrecondition =>
            {
                self.upload(&mapped.blobs)?;
                self.execute(&mapped.action)?
            }
            other => other?,
        };
        let result = match (resp.result, resp.status) {
            (_, Some(s)) if s.code != 0 => {
                return Err(self.status(&self.conn.exec_name, s.code, s.message))
            }
            (Some(r), _) => r,
            (None, _) => return Err(self.status(&self.conn.exec_name, 13, "no result".into())),
        };
        bump(&self.stats.executed, 1);
        let output = self.output_text(req, &result)?;
        let success = result.exit_code == 0;
        let outputs = if success {
            self.materialize(req, &result)?
        } else {
            Vec::new()
        };
        let seconds = start.elapsed().as_secs_f64();
        Ok(ExecResult {
            success,
            output,
            seconds,
            outputs,
            origin: Origin::Remote,
            // The worker's phases are the server's: all of it is the tool.
            breakdown: crate::schedule::Breakdown {
                tool: seconds,
                ..Default::default()
            },
        })
    }

    /// Execute, waiting on the operation; a dropped stream is resumed with
    /// WaitExecution.
    fn execute(&self, action: &re::Digest) -> Result<re::ExecuteResponse, RemoteError> {
        let Some(service) = self.conn.exec_service() else {
            return Err(RemoteError::Down("no remote executor".into()));
        };
        let req = re::ExecuteRequest {
            instance_name: self.conn.instance.clone(),
            action_digest: Some(action.clone()),
            digest_function: self.digest_fn().proto(),
            inline_stdout: true,
            inline_stderr: true,
            ..Default::default()
        };
        self.conn.call(&self.conn.exec_name, || {
            let mut client = re::execution_client::ExecutionClient::new(service.clone())
                .max_decoding_message_size(64 << 20);
            let req = req.clone();
            async move {
                let mut stream = client.execute(req).await?.into_inner();
                let mut name = String::new();
                for _ in 0..=RESUMES {
                    match wait_done(&mut stream, &mut name).await {
                        Ok(op) => return finished(op),
                        Err(s) if name.is_empty() => return Err(s),
                        Err(_) => {
                            let wait = re::WaitExecutionRequest { name: name.clone() };
                            stream = client.wait_execution(wait).await?.into_inner();
                        }
                    }
                }
                Err(tonic::Status::unavailable(
                    "the Execute stream kept dropping",
                ))
            }
        })
    }
}

type OpStream = tonic::Streaming<bazel_remote_apis::google::longrunning::Operation>;

/// Reads the stream until the operation is done, noting its name.
async fn wait_done(
    stream: &mut OpStream,
    name: &mut String,
) -> Result<bazel_remote_apis::google::longrunning::Operation, tonic::Status> {
    while let Some(op) = stream.next().await {
        let op = op?;
        *name = op.name.clone();
        if op.done {
            return Ok(op);
        }
    }
    Err(tonic::Status::unavailable("the Execute stream ended early"))
}

fn finished(
    op: bazel_remote_apis::google::longrunning::Operation,
) -> Result<re::ExecuteResponse, tonic::Status> {
    match op.result {
        Some(operation::Result::Response(any)) => re::ExecuteResponse::decode(any.value.as_slice())
            .map_err(|e| tonic::Status::internal(format!("decoding ExecuteResponse: {e}"))),
        Some(operation::Result::Error(s)) => Err(tonic::Status::new(s.code.into(), s.message)),
        None => Err(tonic::Status::internal("a done operation without a result")),
    }
}

/// The local cache, then the remote one.
pub struct RemoteCache<'r, 'a> {
    pub remote: &'r Remote<'a>,
    pub local: &'a Cache,
}

impl ActionCache for RemoteCache<'_, '_> {
    fn lookup(&self, req: &Request) -> Option<Hit> {
        if let Some(entry) = self.local.get_action(req.key) {
            return Some((entry, Origin::LocalCache));
        }
        let remote = self.remote;
        if remote.is_down() {
            return None;
        }
        match remote.timed(|| remote.fetch_cached(req)) {
            Ok(Some(entry)) => {
                bump(&remote.stats.hits, 1);
                if let Err(e) = self.local.put_action(req.key, &entry) {
                    eprintln!("warning: storing a remote hit locally: {e}");
                }
                Some((entry, Origin::RemoteCache))
            }
            Ok(None) => {
                bump(&remote.stats.misses, 1);
                None
            }
            Err(e) => {
                bump(&remote.stats.misses, 1);
                remote.warn(
                    &format!(
                        "{} {}: not used, built here",
                        req.action.kind, req.action.package
                    ),
                    &e,
                );
                None
            }
        }
    }

    fn store(&self, req: &Request, entry: &ActionEntry, origin: Origin) -> Result<(), ActionError> {
        self.local.put_action(req.key, entry)?;
        let remote = self.remote;
        if origin == Origin::Local && !remote.config.readonly && !remote.is_down() {
            if let Err(e) = remote.timed(|| remote.publish(req, entry)) {
                remote.warn(
                    &format!("sharing {} {}", req.action.kind, req.action.package),
                    &e,
                );
            }
        }
        Ok(())
    }
}

/// Local slots: how many actions may run here at once when `-j` is sized
/// for a farm.
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    pub fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        if let Ok(mut free) = self.free.lock() {
            while *free == 0 {
                free = match self.freed.wait(free) {
                    Ok(g) => g,
                    Err(_) => return f(),
                };
            }
            *free -= 1;
        }
        let out = f();
        if let Ok(mut free) = self.free.lock() {
            *free += 1;
        }
        self.freed.notify_one();
        out
    }
}

/// Remote where the action can run there, here otherwise.
pub struct RemoteExecutor<'r, 'a> {
    pub remote: &'r Remote<'a>,
    pub local: &'r dyn Executor,
    pub slots: Slots,
}

/// Actions gobuildr runs in process (pack) have no tool to send.
fn runs_remotely(req: &Request) -> bool {
    req.action
        .argv
        .first()
        .is_some_and(|a| a.starts_with(TOOLDIR))
}

impl Executor for RemoteExecutor<'_, '_> {
    fn execute(&self, req: &Request) -> Result<ExecResult, ActionError> {
        let remote = self.remote;
        if remote.is_down() || !remote.executes() || !runs_remotely(req) {
            return self.slots.run(|| self.local.execute(req));
        }
        match remote.timed(|| remote.run_remote(req)) {
            Ok(res) => Ok(res),
            Err(e @ (RemoteError::Corrupt { .. } | RemoteError::MissingOutput { .. })) => {
                remote.warn(
                    &format!("{} {}: rebuilt here", req.action.kind, req.action.package),
                    &e,
                );
                self.slots.run(|| self.local.execute(req))
            }
            Err(e) if e.is_unavailable() => {
                remote.unreachable(&e);
                self.slots.run(|| self.local.execute(req))
            }
            Err(e) => Err(Box::new(e)),
        }
    }

    fn cancel(&self) {
        self.remote.cancel();
        self.local.cancel();
    }
}
