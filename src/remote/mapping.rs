//! An action as REAPI sees it: a `Command` (a POSIX shell line that puts
//! the action's absolute sandbox path where the local sandbox has
//! `${SB}`), an input root holding every input and the tools, the output
//! paths and the platform. Its Action digest is the remote cache key.
//!
//! Why a shell line: `-trimpath` and the tools' file arguments need the
//! sandbox's absolute path, which only the worker knows. Generated files
//! (importcfg, embedcfg) name inputs by relative path instead, which the
//! tools resolve against the working directory, the input root.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bazel_remote_apis::build::bazel::remote::execution::v2 as re;
use prost::Message;
use re::digest_function::Value as DigestValue;
use sha2::Digest as _;

use super::RemoteError;
use crate::cache::Cache;
use crate::digest::{ActionKey, FileDigest};
use crate::plan::{tool_env, Action, ActionKind, Source, GOROOT, SB, TOOLDIR};
use crate::schedule::Request;
use crate::toolchain::Toolchain;

/// Bumped when the mapping changes what an Action means.
const SALT: &str = "gobuildr-remote-v1";

/// The first line the shell writes to stderr: the sandbox path, so that
/// tool messages can name files as the user knows them.
pub const SANDBOX_MARKER: &str = "gobuildr-sandbox ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestFn {
    Sha256,
    Blake3,
}

impl DigestFn {
    /// BLAKE3 where the cache and (if it executes) the executor offer it;
    /// SHA-256 otherwise, which every server has.
    pub fn choose(caps: Option<&re::ServerCapabilities>) -> DigestFn {
        let blake3 = DigestValue::Blake3 as i32;
        let Some(caps) = caps else {
            return DigestFn::Sha256;
        };
        let cache = caps
            .cache_capabilities
            .as_ref()
            .is_some_and(|c| c.digest_functions.contains(&blake3));
        let exec = caps
            .execution_capabilities
            .as_ref()
            .filter(|e| e.exec_enabled)
            .map_or(true, |e| e.digest_functions.contains(&blake3));
        if cache && exec {
            DigestFn::Blake3
        } else {
            DigestFn::Sha256
        }
    }

    pub fn proto(self) -> i32 {
        match self {
            DigestFn::Sha256 => DigestValue::Sha256 as i32,
            DigestFn::Blake3 => DigestValue::Blake3 as i32,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestFn::Sha256 => "sha256",
            DigestFn::Blake3 => "blake3",
        }
    }

    pub fn of_bytes(self, data: &[u8]) -> re::Digest {
        let hash = match self {
            DigestFn::Sha256 => hex(&sha2::Sha256::digest(data)),
            DigestFn::Blake3 => blake3::hash(data).to_hex().to_string(),
        };
        re::Digest {
            hash,
            size_bytes: data.len() as i64,
        }
    }

    fn of_file(self, path: &Path) -> std::io::Result<re::Digest> {
        let mut size = 0u64;
        let hash = match self {
            DigestFn::Sha256 => {
                let mut h = sha2::Sha256::new();
                crate::digest::stream(std::fs::File::open(path)?, |b| {
                    size += b.len() as u64;
                    h.update(b)
                })?;
                hex(&h.finalize())
            }
            DigestFn::Blake3 => {
                size = std::fs::metadata(path)?.len();
                FileDigest::of_file(path)?.to_hex()
            }
        };
        Ok(re::Digest {
            hash,
            size_bytes: size as i64,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the bytes of a blob are.
#[derive(Debug, Clone)]
pub enum Blob {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
}

impl Blob {
    pub fn read(&self) -> Result<Arc<Vec<u8>>, RemoteError> {
        match self {
            Blob::Bytes(b) => Ok(b.clone()),
            Blob::File(p) => std::fs::read(p)
                .map(Arc::new)
                .map_err(|source| RemoteError::Io {
                    path: p.clone(),
                    source,
                }),
        }
    }
}

/// One action, mapped.
#[derive(Debug)]
pub struct Mapped {
    pub action: re::Digest,
    /// Every blob a remote executor needs: the Action, the Command, the
    /// input root's directories and files.
    pub blobs: Vec<(re::Digest, Blob)>,
    /// The Action and Command blobs (what a cache entry's reader may want).
    pub own: Vec<(re::Digest, Blob)>,
}

/// A directory of the input root being built.
#[derive(Default)]
struct Dir {
    files: BTreeMap<String, (re::Digest, bool)>,
    dirs: BTreeMap<String, Dir>,
}

impl Dir {
    fn insert(&mut self, path: &str, digest: re::Digest, executable: bool) {
        match path.split_once('/') {
            Some((first, rest)) => self
                .dirs
                .entry(first.into())
                .or_default()
                .insert(rest, digest, executable),
            None => {
                self.files.insert(path.into(), (digest, executable));
            }
        }
    }

    fn mkdir(&mut self, name: &str) {
        self.dirs.entry(name.into()).or_default();
    }

    /// Encodes the tree bottom up (names sorted, as REAPI requires) and
    /// returns the root's digest.
    fn encode(&self, f: DigestFn, blobs: &mut Vec<(re::Digest, Blob)>) -> re::Digest {
        let dir = re::Directory {
            files: self
                .files
                .iter()
                .map(|(name, (digest, exec))| re::FileNode {
                    name: name.clone(),
                    digest: Some(digest.clone()),
                    is_executable: *exec,
                    node_properties: None,
                })
                .collect(),
            directories: self
                .dirs
                .iter()
                .map(|(name, d)| re::DirectoryNode {
                    name: name.clone(),
                    digest: Some(d.encode(f, blobs)),
                })
                .collect(),
            ..Default::default()
        };
        proto_blob(f, &dir, blobs)
    }
}

fn proto_blob(f: DigestFn, msg: &impl Message, blobs: &mut Vec<(re::Digest, Blob)>) -> re::Digest {
    let bytes = msg.encode_to_vec();
    let digest = f.of_bytes(&bytes);
    blobs.push((digest.clone(), Blob::Bytes(Arc::new(bytes))));
    digest
}

/// A word for the POSIX shell: `${SB}` becomes `"$SB"`, the rest quoted.
fn sh_word(arg: &str) -> String {
    let arg = arg
        .replace(TOOLDIR, &format!("{SB}/tool"))
        .replace(GOROOT, &format!("{SB}/goroot"));
    arg.split(SB)
        .map(|part| format!("'{}'", part.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join("\"$SB\"")
}

/// The shell line: the sandbox path, the variables that name it, the tool.
pub fn script(action: &Action) -> String {
    let mut s = format!(
        "SB=$(pwd -P) && printf '{SANDBOX_MARKER}%s\\n' \"$SB\" >&2 && export TMPDIR=\"$SB\"/tmp"
    );
    for (k, v) in action.env.iter().filter(|(_, v)| v.contains("${")) {
        s.push_str(&format!(" {k}={}", sh_word(v)));
    }
    s.push_str(" && exec");
    for a in &action.argv {
        s.push(' ');
        s.push_str(&sh_word(a));
    }
    s
}

/// The environment that needs no sandbox path, sorted by name; later
/// settings win, as in the local sandbox.
fn environment(action: &Action) -> Vec<re::command::EnvironmentVariable> {
    let mut env: BTreeMap<String, String> = tool_env()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("HOME".into(), String::new());
    for (k, v) in &action.env {
        if v.contains("${") {
            env.remove(k);
        } else {
            env.insert(k.clone(), v.clone());
        }
    }
    env.into_iter()
        .map(|(name, value)| re::command::EnvironmentVariable { name, value })
        .collect()
}

/// Generated inputs name other inputs relative to the input root.
fn relative(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .replace(&format!("{SB}/"), "")
        .replace(SB, ".")
        .into_bytes()
}

/// Every `.h` file under `dir`, sorted.
fn header_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(path),
                Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "h") => {
                    out.push(path)
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Maps actions, remembering digests of files and whole mappings.
pub struct Mapper<'a> {
    cache: &'a Cache,
    toolchain: &'a Toolchain,
    platform: re::Platform,
    files: Mutex<HashMap<PathBuf, re::Digest>>,
    mapped: Mutex<HashMap<ActionKey, Arc<Mapped>>>,
}

impl<'a> Mapper<'a> {
    pub fn new(
        cache: &'a Cache,
        toolchain: &'a Toolchain,
        properties: Vec<(String, String)>,
    ) -> Mapper<'a> {
        Mapper {
            cache,
            toolchain,
            platform: re::Platform {
                properties: properties
                    .into_iter()
                    .map(|(name, value)| re::platform::Property { name, value })
                    .collect(),
            },
            files: Mutex::new(HashMap::new()),
            mapped: Mutex::new(HashMap::new()),
        }
    }

    pub fn cache(&self) -> &'a Cache {
        self.cache
    }

    /// The digest of a file's contents (remembered per path for the run:
    /// inputs were checked when their keys were made).
    pub fn file_digest(&self, path: &Path, f: DigestFn) -> Result<re::Digest, RemoteError> {
        if let Some(d) = self.files.lock().ok().and_then(|m| m.get(path).cloned()) {
            return Ok(d);
        }
        let d = f.of_file(path).map_err(|source| RemoteError::Io {
            path: path.into(),
            source,
        })?;
        if let Ok(mut m) = self.files.lock() {
            m.insert(path.into(), d.clone());
        }
        Ok(d)
    }

    /// The digest of a file whose BLAKE3 content digest is known (a CAS
    /// blob, a hashed workspace file): never re-read for BLAKE3, and its
    /// SHA-256 remembered across runs by the stat cache.
    pub fn content_digest(
        &self,
        path: &Path,
        content: FileDigest,
        f: DigestFn,
    ) -> Result<re::Digest, RemoteError> {
        let io = |source| RemoteError::Io {
            path: path.into(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len() as i64;
        let hash = match f {
            DigestFn::Blake3 => content.to_hex(),
            DigestFn::Sha256 => self
                .cache
                .stats()
                .sha256(path, content, || Ok(f.of_file(path)?.hash))
                .map_err(io)?,
        };
        Ok(re::Digest {
            hash,
            size_bytes: size,
        })
    }

    /// The mapping of a ready action (made once per action and run).
    pub fn map(&self, req: &Request, f: DigestFn) -> Result<Arc<Mapped>, RemoteError> {
        if let Some(m) = self
            .mapped
            .lock()
            .ok()
            .and_then(|m| m.get(req.key).cloned())
        {
            return Ok(m);
        }
        let m = Arc::new(self.build(req, f)?);
        if let Ok(mut all) = self.mapped.lock() {
            all.insert(*req.key, m.clone());
        }
        Ok(m)
    }

    fn build(&self, req: &Request, f: DigestFn) -> Result<Mapped, RemoteError> {
        let mut files = Vec::new();
        let root = self.input_root(req, f, &mut files)?;
        let mut own = Vec::new();
        let command = proto_blob(f, &self.command(req.action), &mut own);
        let action = re::Action {
            command_digest: Some(command),
            input_root_digest: Some(root),
            salt: format!("{SALT} {}", req.action.kind.rule_digest()).into_bytes(),
            platform: Some(self.platform.clone()),
            ..Default::default()
        };
        let action = proto_blob(f, &action, &mut own);
        let mut blobs = own.clone();
        blobs.extend(files);
        Ok(Mapped { action, blobs, own })
    }

    // The Command's platform is deprecated in favour of the Action's, but
    // servers older than REAPI 2.2 read only this one.
    #[allow(deprecated)]
    fn command(&self, action: &Action) -> re::Command {
        let mut outputs = action.outputs.clone();
        outputs.sort();
        outputs.dedup();
        re::Command {
            arguments: vec!["/bin/sh".into(), "-c".into(), script(action)],
            environment_variables: environment(action),
            output_paths: outputs,
            platform: Some(self.platform.clone()),
            ..Default::default()
        }
    }

    /// The input root: the sandbox's fixed directories, every input at its
    /// place, and the tool under `tool/`.
    fn input_root(
        &self,
        req: &Request,
        f: DigestFn,
        blobs: &mut Vec<(re::Digest, Blob)>,
    ) -> Result<re::Digest, RemoteError> {
        let mut root = Dir::default();
        for d in ["obj", "pkg", "include", "tmp", "src"] {
            root.mkdir(d);
        }
        for (input, digest) in req.action.inputs.iter().zip(req.inputs) {
            // A file fixed by an identity (standard library, modules) has
            // no content digest yet: it is hashed here, once per run.
            let (blob, content) = match &input.source {
                Source::File {
                    path, immutable, ..
                } => (Blob::File(path.clone()), (!immutable).then_some(*digest)),
                Source::Output { .. } => (Blob::File(self.cache.blob_path(digest)), Some(*digest)),
                Source::Generated(bytes) => (Blob::Bytes(Arc::new(relative(bytes))), None),
            };
            let d = match (&blob, content) {
                (Blob::File(p), Some(c)) => self.content_digest(p, c, f)?,
                _ => self.blob_digest(&blob, f)?,
            };
            root.insert(&input.at, d.clone(), false);
            blobs.push((d, blob));
        }
        self.headers(req.action, f, &mut root, blobs)?;
        if let Some(tool) = req
            .action
            .argv
            .first()
            .and_then(|a| a.strip_prefix(TOOLDIR))
        {
            let path = self.toolchain.tool_dir.join(tool.trim_start_matches('/'));
            let d = self.file_digest(&path, f)?;
            root.insert(&format!("tool{tool}"), d.clone(), true);
            blobs.push((d, Blob::File(path)));
        }
        Ok(root.encode(f, blobs))
    }

    /// Assembly of a package staged whole (standard library, modules)
    /// may include headers from its subdirectories, which the local
    /// sandbox reaches through its `src` link: send them all.
    fn headers(
        &self,
        action: &Action,
        f: DigestFn,
        root: &mut Dir,
        blobs: &mut Vec<(re::Digest, Blob)>,
    ) -> Result<(), RemoteError> {
        let (Some(dir), ActionKind::Asm | ActionKind::Symabis) = (&action.src_link, action.kind)
        else {
            return Ok(());
        };
        for path in header_files(dir) {
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let d = self.file_digest(&path, f)?;
            root.insert(&format!("src/{}", rel.to_string_lossy()), d.clone(), false);
            blobs.push((d, Blob::File(path)));
        }
        Ok(())
    }

    fn blob_digest(&self, blob: &Blob, f: DigestFn) -> Result<re::Digest, RemoteError> {
        match blob {
            Blob::Bytes(b) => Ok(f.of_bytes(b)),
            Blob::File(p) => self.file_digest(p, f),
        }
    }
}
