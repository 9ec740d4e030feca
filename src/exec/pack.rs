//! `pack r`, in process: append assembler objects to the compiler's archive
//! exactly as go build's internal pack does (Unix ar members with zero
//! mtime, uid and gid, mode 0644, names cut to 16 bytes, odd sizes padded).

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::rules::rules;

fn append(archive: &Path, objects: &[&Path]) -> std::io::Result<()> {
    let mut out = fs::OpenOptions::new().append(true).open(archive)?;
    let mode = &rules().pack.mode;
    for obj in objects {
        let data = fs::read(obj)?;
        let name = obj
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut name = name.into_bytes();
        name.resize(16, b' ');
        let mut header = name;
        header.extend_from_slice(
            format!("{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, mode, data.len()).as_bytes(),
        );
        out.write_all(&header)?;
        out.write_all(&data)?;
        if data.len() % 2 == 1 {
            out.write_all(&[0])?;
        }
    }
    Ok(())
}

/// Runs the pack action in sandbox `sb`: archive and objects are
/// sandbox-relative. Returns success and a message.
pub fn run(sb: &Path, archive: &str, objects: &[String]) -> (bool, String) {
    let objs: Vec<std::path::PathBuf> = objects.iter().map(|o| sb.join(o)).collect();
    let refs: Vec<&Path> = objs.iter().map(|p| p.as_path()).collect();
    match append(&sb.join(archive), &refs) {
        Ok(()) => (true, String::new()),
        Err(e) => (false, format!("pack {archive}: {e}\n")),
    }
}
