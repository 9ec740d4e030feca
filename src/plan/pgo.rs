//! Profile-guided optimization: which profile a root builds with, and the
//! action that preprocesses it.

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;

use super::planner::Planner;
use super::{Action, ActionKind, Input, PlanError, Source, GOROOT, PREPROFILE, SB, TOOLDIR};
use crate::discover::Package;
use crate::goflags::{BuildFlags, Pgo};
use crate::rules::rules;

/// The profile a root builds with, if any: -pgo=FILE for every package,
/// -pgo=auto a main package's own default.pgo.
pub(super) fn profile_of(flags: &BuildFlags, pkg: &Package) -> Option<PathBuf> {
    match &flags.pgo {
        Pgo::Off => None,
        Pgo::File(f) => Some(f.clone()),
        Pgo::Auto => Some(pkg.dir.join("default.pgo")).filter(|p| pkg.is_main() && p.is_file()),
    }
}

impl Planner<'_> {
    /// The preprofile action of a profile file.
    pub fn plan_preprofile(
        &mut self,
        profile: &Path,
        display: &str,
    ) -> Result<NodeIndex, PlanError> {
        let digest = self.hashed(profile)?;
        let argv = vec![
            format!("{TOOLDIR}/{}", rules().pgo.tool),
            "-o".into(),
            format!("{SB}/{PREPROFILE}"),
            "-i".into(),
            format!("{SB}/src/profile.pgo"),
        ];
        let input = Input {
            at: "src/profile.pgo".into(),
            source: Source::File {
                path: profile.to_path_buf(),
                digest,
                immutable: false,
            },
            writable: false,
        };
        let action = Action {
            kind: ActionKind::Preprofile,
            package: display.to_string(),
            platform: self.graph.platform.clone(),
            argv,
            env: self.tool_env(GOROOT),
            inputs: vec![input],
            outputs: vec![PREPROFILE.into()],
            src_display: String::new(),
            src_link: None,
            module: None,
        };
        Ok(self.add(action))
    }
}
