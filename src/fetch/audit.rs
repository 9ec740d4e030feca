//! `gobuildr fetch --audit`: every line of every go.sum in the workspace,
//! not only the modules a build needs, checked against the checksum
//! database. Each line is verified, a mismatch, exempt (GONOSUMDB /
//! GOPRIVATE), or not in the database.

use serde::Serialize;

use crate::sumdb::{Database, SumdbError};
pub use crate::workspace::gosum::{read_lines, SumLine};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Verified,
    Mismatch,
    Exempt,
    NotInDatabase,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Mismatch => "mismatch",
            Status::Exempt => "exempt",
            Status::NotInDatabase => "not-in-database",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub module: String,
    pub version: String,
    /// "zip" or "go.mod".
    pub file: &'static str,
    pub go_sum: String,
    /// What the database records, when it was asked and has it.
    pub database: Option<String>,
    pub status: Status,
    pub go_sum_file: String,
}

#[derive(Debug, Serialize)]
pub struct DatabaseHead {
    pub name: String,
    pub tree_size: Option<u64>,
    pub root: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub database: Option<DatabaseHead>,
    pub lines: Vec<Line>,
}

impl Report {
    pub fn count(&self, s: Status) -> usize {
        self.lines.iter().filter(|l| l.status == s).count()
    }
}

/// Audits the lines against `db` (None: GOSUMDB=off, everything exempt).
/// Lines are looked up in parallel; the report keeps the files' order.
pub fn audit(
    lines: &[SumLine],
    db: Option<&Database>,
    exempt: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Report, SumdbError> {
    use rayon::prelude::*;
    let checked: Result<Vec<Line>, SumdbError> = lines
        .par_iter()
        .map(|l| audit_line(l, db, exempt))
        .collect();
    Ok(Report {
        database: db.map(|d| DatabaseHead {
            name: d.name().to_string(),
            tree_size: d.latest().map(|t| t.size),
            root: d.latest().map(|t| t.root.to_string()),
        }),
        lines: checked?,
    })
}

fn audit_line(
    l: &SumLine,
    db: Option<&Database>,
    exempt: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Line, SumdbError> {
    let (version, go_mod) = match l.version.strip_suffix("/go.mod") {
        Some(v) => (v, true),
        None => (l.version.as_str(), false),
    };
    let mut line = Line {
        module: l.module.clone(),
        version: version.to_string(),
        file: if go_mod { "go.mod" } else { "zip" },
        go_sum: l.hash.clone(),
        database: None,
        status: Status::Exempt,
        go_sum_file: l.file.display().to_string(),
    };
    let Some(db) = db.filter(|_| !exempt(&l.module)) else {
        return Ok(line);
    };
    match db.lookup(&l.module, version) {
        Ok(rec) => {
            line.database = rec.hash(go_mod).map(str::to_string);
            line.status = match &line.database {
                Some(h) if *h == l.hash => Status::Verified,
                Some(_) => Status::Mismatch,
                None => Status::NotInDatabase,
            };
        }
        Err(SumdbError::NotFound { .. }) => line.status = Status::NotInDatabase,
        Err(e) => return Err(e),
    }
    Ok(line)
}
