//! How a run can fail, sorted the way the exit code tells it: the user's
//! input (2), a build that failed (1), the environment (3), an interrupt
//! (130). Library modules have their own error types; they are sorted here.

use std::fmt;

#[derive(Debug)]
pub enum Failure {
    /// Bad flags, labels, or workspace: exit 2.
    Usage(String),
    /// The build ran and something in it failed: exit 1.
    Build(String),
    /// The machine or toolchain is not usable: exit 3.
    Environment(String),
    /// Ctrl-C: exit 130.
    Interrupted,
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Build(_) => 1,
            Failure::Environment(_) => 3,
            Failure::Interrupted => 130,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Build(m) | Failure::Environment(m) => f.write_str(m),
            Failure::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<crate::workspace::WorkspaceError> for Failure {
    fn from(e: crate::workspace::WorkspaceError) -> Self {
        match e {
            crate::workspace::WorkspaceError::Io { .. } => Failure::Environment(e.to_string()),
            _ => Failure::Usage(e.to_string()),
        }
    }
}

impl From<crate::workspace::label::LabelError> for Failure {
    fn from(e: crate::workspace::label::LabelError) -> Self {
        Failure::Usage(e.to_string())
    }
}

impl From<crate::cache::CacheError> for Failure {
    fn from(e: crate::cache::CacheError) -> Self {
        Failure::Environment(e.to_string())
    }
}

impl From<crate::fsutil::FsError> for Failure {
    fn from(e: crate::fsutil::FsError) -> Self {
        Failure::Environment(e.to_string())
    }
}

impl From<crate::toolchain::ToolchainError> for Failure {
    fn from(e: crate::toolchain::ToolchainError) -> Self {
        match e {
            // A refused or missing pinned toolchain stops the build like a
            // refused module.
            crate::toolchain::ToolchainError::Pin { .. } => Failure::Build(e.to_string()),
            crate::toolchain::ToolchainError::Database { .. } => {
                Failure::Environment(e.to_string())
            }
            _ => Failure::Environment(e.to_string()),
        }
    }
}

impl From<crate::discover::DiscoverError> for Failure {
    fn from(e: crate::discover::DiscoverError) -> Self {
        Failure::Build(e.to_string())
    }
}

impl From<crate::plan::PlanError> for Failure {
    fn from(e: crate::plan::PlanError) -> Self {
        match e {
            crate::plan::PlanError::Io { .. } => Failure::Environment(e.to_string()),
            crate::plan::PlanError::Packages(_) => Failure::Build(e.to_string()),
            crate::plan::PlanError::Unsupported(_) => Failure::Usage(e.to_string()),
        }
    }
}

impl From<crate::fetch::FetchError> for Failure {
    fn from(e: crate::fetch::FetchError) -> Self {
        match e {
            crate::fetch::FetchError::Io { .. }
            | crate::fetch::FetchError::Sources(_)
            | crate::fetch::FetchError::Database(_) => Failure::Environment(e.to_string()),
            // TLS, network and proxy failures are this machine's.
            crate::fetch::FetchError::Source { ref source, .. } if source.is_environment() => {
                Failure::Environment(e.to_string())
            }
            _ => Failure::Build(e.to_string()),
        }
    }
}

impl From<crate::stamp::StampError> for Failure {
    fn from(e: crate::stamp::StampError) -> Self {
        Failure::Usage(e.to_string())
    }
}

impl From<crate::sumdb::SumdbError> for Failure {
    fn from(e: crate::sumdb::SumdbError) -> Self {
        // The database itself misbehaving or out of reach is the
        // environment; what it refuses is decided by the go.sum check.
        Failure::Environment(e.to_string())
    }
}
