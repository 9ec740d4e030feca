//! The go command's own configuration for where modules come from and how
//! they are proved: GOPROXY, GONOPROXY, GOPRIVATE, GONOSUMDB, GOSUMDB,
//! GOINSECURE, GOAUTH and GOFLAGS, resolved the way cmd/go's `cfg` package
//! does, with gobuildr.toml's `[modules]` overrides on top.
//!
//! Invariant: resolving starts no process (a no-op build spawns nothing);
//! it reads only the process environment, the user's go env file and
//! `$GOROOT/go.env`. These values choose sources and credentials; they
//! never enter an action key or an output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings resolved here, in cmd/go's names.
pub const KEYS: [&str; 8] = [
    "GOPROXY",
    "GONOPROXY",
    "GOPRIVATE",
    "GONOSUMDB",
    "GOSUMDB",
    "GOINSECURE",
    "GOAUTH",
    "GOFLAGS",
];

/// Where one setting's value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// gobuildr.toml's `[modules]` key.
    Config(&'static str),
    Environment,
    /// The user's go env file (`go env -w`).
    UserFile(PathBuf),
    /// `$GOROOT/go.env` of the toolchain in use.
    GoRoot(PathBuf),
    /// cmd/go's built-in fallback (GOPRIVATE for GONOPROXY/GONOSUMDB,
    /// `netrc` for GOAUTH), or unset.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Config(k) => write!(f, "gobuildr.toml [modules] {k}"),
            Origin::Environment => f.write_str("environment"),
            Origin::UserFile(p) => write!(f, "{}", p.display()),
            Origin::GoRoot(p) => write!(f, "{}", p.display()),
            Origin::Default => f.write_str("go's default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// The resolved settings.
#[derive(Debug, Clone, Default)]
pub struct GoEnv {
    vars: BTreeMap<&'static str, Setting>,
}

/// gobuildr.toml's overrides, by go env name (`GOPROXY` → value).
pub type Overrides = BTreeMap<&'static str, (String, &'static str)>;

/// One KEY=VALUE file as cmd/go reads it: lines without `=` or not
/// starting with an upper-case letter (comments) are ignored; values are
/// taken verbatim.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.split('\n')
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The user's go env file: `$GOENV`, else the user config dir's
/// `go/env`; none when GOENV=off or no config dir is known.
pub fn user_env_file(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match lookup("GOENV").filter(|v| !v.is_empty()) {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => user_config_dir(lookup).map(|d| d.join("go/env")),
    }
}

/// Go's `os.UserConfigDir` on Unix: XDG_CONFIG_HOME if absolute, else
/// `$HOME/.config`.
fn user_config_dir(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match lookup("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d)).filter(|p| p.is_absolute()),
        None => lookup("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".config")),
    }
}

fn read_file(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .map(|t| parse_env_file(&t))
        .unwrap_or_default()
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.is_empty())
}

impl GoEnv {
    /// Resolves every key from this process's environment, the user's go
    /// env file and `goroot`'s go.env, with `overrides` winning.
    pub fn resolve(goroot: Option<&Path>, overrides: &Overrides) -> GoEnv {
        GoEnv::resolve_with(&|k| std::env::var(k).ok(), goroot, overrides)
    }

    /// [`GoEnv::resolve`] with the environment given as a function.
    pub fn resolve_with(
        lookup: &dyn Fn(&str) -> Option<String>,
        goroot: Option<&Path>,
        overrides: &Overrides,
    ) -> GoEnv {
        let user_path = user_env_file(lookup);
        let user = user_path.as_deref().map(read_file).unwrap_or_default();
        let root_path = goroot.map(|g| g.join("go.env"));
        let root = root_path.as_deref().map(read_file).unwrap_or_default();
        let get = |key: &str| -> Option<Setting> {
            if let Some((value, name)) = overrides.get(key) {
                return Some(Setting {
                    value: value.clone(),
                    origin: Origin::Config(name),
                });
            }
            let setting = |value: String, origin| Setting { value, origin };
            if let Some(v) = non_empty(lookup(key)) {
                return Some(setting(v, Origin::Environment));
            }
            // As in cmd/go, a key in the user file (even empty) hides
            // go.env's value.
            if let (Some(v), Some(p)) = (user.get(key), &user_path) {
                return non_empty(Some(v.clone())).map(|v| setting(v, Origin::UserFile(p.clone())));
            }
            let p = root_path.clone()?;
            non_empty(root.get(key).cloned()).map(|v| setting(v, Origin::GoRoot(p)))
        };
        let mut vars = BTreeMap::new();
        for key in KEYS {
            if let Some(s) = get(key) {
                vars.insert(key, s);
            }
        }
        let fallback = |vars: &BTreeMap<&str, Setting>, key: &str| -> Setting {
            let value = match key {
                "GONOPROXY" | "GONOSUMDB" => vars
                    .get("GOPRIVATE")
                    .map(|s| s.value.clone())
                    .unwrap_or_default(),
                "GOAUTH" => "netrc".to_string(),
                _ => String::new(),
            };
            Setting {
                value,
                origin: Origin::Default,
            }
        };
        for key in KEYS {
            if !vars.contains_key(key) {
                let s = fallback(&vars, key);
                vars.insert(key, s);
            }
        }
        GoEnv { vars }
    }

    /// A key's value ("" when unset).
    pub fn get(&self, key: &str) -> &str {
        self.vars.get(key).map(|s| s.value.as_str()).unwrap_or("")
    }

    /// A key's value and where it came from.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.vars.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn go_env(env: &[(&str, &str)], goroot: &Path) -> BTreeMap<String, String> {
        let out = Command::new(goroot.join("bin/go"))
            .arg("env")
            .arg("-json")
            .args(KEYS)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn goroot() -> Option<PathBuf> {
        let out = Command::new("go").args(["env", "GOROOT"]).output().ok()?;
        Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
    }

    fn ours(env: &[(&str, &str)], goroot: &Path) -> BTreeMap<String, String> {
        let map: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let g = GoEnv::resolve_with(&|k| map.get(k).cloned(), Some(goroot), &Overrides::new());
        KEYS.iter()
            .map(|k| (k.to_string(), g.get(k).to_string()))
            .collect()
    }

    #[test]
    fn agrees_with_go_env() {
        let Some(root) = goroot() else { return };
        let home = tempfile::tempdir().unwrap();
        let h = home.path().to_str().unwrap();
        let envfile = home.path().join("goenv");
        std::fs::write(
            &envfile,
            "# comment\nGOPROXY=file:///user/proxy\nGOPRIVATE=corp.example/*\nlower=x\nGOSUMDB=\n",
        )
        .unwrap();
        let ef = envfile.to_str().unwrap();
        let setups: Vec<Vec<(&str, &str)>> = vec![
            vec![("HOME", h)],
            vec![("HOME", h), ("GOENV", ef)],
            vec![("HOME", h), ("GOENV", ef), ("GOPROXY", "file:///env")],
            vec![("HOME", h), ("GOENV", "off"), ("GOPRIVATE", "a.example")],
            vec![("HOME", h), ("GONOSUMDB", "b.example"), ("GOAUTH", "off")],
            vec![("HOME", h), ("GOPROXY", ""), ("GOFLAGS", "-mod=mod")],
        ];
        for env in setups {
            assert_eq!(ours(&env, &root), go_env(&env, &root), "{env:?}");
        }
    }

    #[test]
    fn xdg_config_home_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("go")).unwrap();
        std::fs::write(dir.path().join("go/env"), "GOPROXY=file:///xdg\n").unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let lookup = move |k: &str| (k == "XDG_CONFIG_HOME").then(|| d.clone());
        let g = GoEnv::resolve_with(&lookup, None, &Overrides::new());
        assert_eq!(g.get("GOPROXY"), "file:///xdg");
        assert_eq!(g.get("GOAUTH"), "netrc");
        let mut o = Overrides::new();
        o.insert("GOPROXY", ("off".into(), "proxy"));
        o.insert("GOPRIVATE", ("p.example".into(), "private"));
        let g = GoEnv::resolve_with(&lookup, None, &o);
        assert_eq!(g.get("GOPROXY"), "off");
        assert_eq!(g.get("GONOPROXY"), "p.example");
        assert_eq!(
            g.setting("GOPROXY").map(|s| s.origin.clone()),
            Some(Origin::Config("proxy"))
        );
    }
}
