//! Go's `h1:` directory hash (golang.org/x/mod/sumdb/dirhash Hash1): the
//! base64 of the sha256 of a summary with one line per file,
//! `<sha256 hex>  <name>\n`, files sorted by name. For a module zip the
//! names are the zip's entry names (`<module>@<version>/<path>`); for a
//! go.mod the one name is `go.mod`.

use sha2::{Digest, Sha256};

use crate::digest::hex;

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The h1 hash of (name, sha256 hex) pairs.
pub fn of_files(mut files: Vec<(String, String)>) -> String {
    files.sort();
    let mut summary = Sha256::new();
    for (name, sha) in &files {
        summary.update(format!("{sha}  {name}\n").as_bytes());
    }
    format!("h1:{}", base64(&summary.finalize()))
}

/// The h1 hash of a go.mod file's contents.
pub fn of_mod(data: &[u8]) -> String {
    of_files(vec![("go.mod".to_string(), hex(&Sha256::digest(data)))])
}

/// The h1 hash of a module zip.
pub fn of_zip(data: &[u8]) -> Result<String, zip::result::ZipError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data))?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i)?;
        if f.is_dir() {
            continue;
        }
        let mut h = Sha256::new();
        let name = f.name().to_string();
        crate::digest::stream(&mut f, |chunk| h.update(chunk))?;
        files.push((name, hex(&h.finalize())));
    }
    Ok(of_files(files))
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn go_mod_hash_matches_go() {
        // examples/proxy-src/example.com/greeting@v1.2.0/go.mod, as in go.sum.
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/proxy-src/example.com/greeting@v1.2.0/go.mod"
        ))
        .unwrap();
        assert_eq!(
            super::of_mod(&data),
            "h1:8CLKfGjqdJNXRpBznlr7iO8dyI9y1F6BjBZYhWSoXw4="
        );
    }
}
