//! What differs between two builds of one binary: its build info (as `go
//! version -m` prints it), its Go build ID, and which sections of the
//! executable (ELF, PE or Mach-O) hold different bytes.

use std::collections::BTreeMap;

const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The build info text embedded by the linker.
pub fn build_info(bin: &[u8]) -> Option<String> {
    let start = find(bin, &INFO_START)? + 16;
    let len = find(&bin[start..], &INFO_END)?;
    Some(String::from_utf8_lossy(&bin[start..start + len]).to_string())
}

/// The Go build ID (`\xff Go build ID: "..."`), empty for -buildid=.
pub fn build_id(bin: &[u8]) -> Option<String> {
    let marker = b"\xff Go build ID: \"";
    let start = find(bin, marker)? + marker.len();
    let len = bin[start..].iter().position(|b| *b == b'"')?;
    Some(String::from_utf8_lossy(&bin[start..start + len]).to_string())
}

fn u16le(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]) as u64)
}
fn u32le(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as u64)
}
fn u64le(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 8)
        .and_then(|x| x.try_into().ok())
        .map(u64::from_le_bytes)
}
fn cstr(b: &[u8], o: usize) -> String {
    let end = b[o.min(b.len())..]
        .iter()
        .position(|c| *c == 0)
        .map(|p| o + p)
        .unwrap_or(b.len());
    String::from_utf8_lossy(&b[o.min(b.len())..end]).to_string()
}

/// Section name → (file offset, size).
type Sections = BTreeMap<String, (u64, u64)>;

/// Section name → (file offset, size), for the formats Go links.
pub fn sections(b: &[u8]) -> Sections {
    let found = if b.starts_with(b"\x7fELF") {
        elf_sections(b)
    } else if b.starts_with(b"MZ") {
        pe_sections(b)
    } else if b.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]) {
        macho_sections(b)
    } else {
        None
    };
    found.unwrap_or_default()
}

fn elf_sections(b: &[u8]) -> Option<Sections> {
    let is64 = b.get(4) == Some(&2);
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (
            u64le(b, 0x28),
            u16le(b, 0x3a),
            u16le(b, 0x3c),
            u16le(b, 0x3e),
        )
    } else {
        (
            u32le(b, 0x20),
            u16le(b, 0x2e),
            u16le(b, 0x30),
            u16le(b, 0x32),
        )
    };
    let (shoff, ent, num, stridx) = (shoff?, shentsize?, shnum?, shstrndx?);
    let sh = |i: u64| (shoff + i * ent) as usize;
    // A section header's offset or size field: 64 bits wide at off64 in
    // ELF64, 32 bits at off32 in ELF32.
    let field = |i: u64, off64: usize, off32: usize| {
        if is64 {
            u64le(b, sh(i) + off64)
        } else {
            u32le(b, sh(i) + off32)
        }
    };
    let stroff = field(stridx, 0x18, 0x10)?;
    let mut out = Sections::new();
    for i in 0..num {
        let name = u32le(b, sh(i))
            .map(|n| cstr(b, (stroff + n) as usize))
            .unwrap_or_default();
        if let (Some(off), Some(size)) = (field(i, 0x18, 0x10), field(i, 0x20, 0x14)) {
            if !name.is_empty() {
                out.insert(name, (off, size));
            }
        }
    }
    Some(out)
}

fn pe_sections(b: &[u8]) -> Option<Sections> {
    let pe = u32le(b, 0x3c)? as usize;
    let (nsec, opt) = (u16le(b, pe + 6)?, u16le(b, pe + 20)?);
    let table = pe + 24 + opt as usize;
    let mut out = Sections::new();
    for i in 0..nsec as usize {
        let s = table + i * 40;
        let name = cstr(&b[..(s + 8).min(b.len())], s);
        if let (Some(size), Some(off)) = (u32le(b, s + 16), u32le(b, s + 20)) {
            out.insert(name, (off, size));
        }
    }
    Some(out)
}

fn macho_sections(b: &[u8]) -> Option<Sections> {
    let ncmds = u32le(b, 16)?;
    let mut out = Sections::new();
    let mut at = 32usize;
    for _ in 0..ncmds {
        let (Some(cmd), Some(size)) = (u32le(b, at), u32le(b, at + 4)) else {
            break;
        };
        if cmd == 0x19 {
            // LC_SEGMENT_64: its sections follow the 72-byte header.
            let nsects = u32le(b, at + 64).unwrap_or(0);
            for k in 0..nsects as usize {
                let s = at + 72 + k * 80;
                let name = format!(
                    "{},{}",
                    cstr(&b[..(s + 32).min(b.len())], s + 16),
                    cstr(&b[..(s + 16).min(b.len())], s)
                );
                if let (Some(sz), Some(off)) = (u64le(b, s + 40), u32le(b, s + 48)) {
                    out.insert(name, (off, sz));
                }
            }
        }
        at += size as usize;
    }
    Some(out)
}

/// A readable account of how two builds of one binary differ.
pub fn describe(a: &[u8], b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let (ia, ib) = (build_info(a), build_info(b));
    if ia != ib {
        let (la, lb) = (ia.unwrap_or_default(), ib.unwrap_or_default());
        for l in la.lines().filter(|l| !lb.lines().any(|m| m == *l)) {
            out.push(format!("build info: - {l}"));
        }
        for l in lb.lines().filter(|l| !la.lines().any(|m| m == *l)) {
            out.push(format!("build info: + {l}"));
        }
    }
    if build_id(a) != build_id(b) {
        out.push(format!(
            "build ID: {:?} vs {:?}",
            build_id(a).unwrap_or_default(),
            build_id(b).unwrap_or_default()
        ));
    }
    let (sa, sb) = (sections(a), sections(b));
    let mut differing = Vec::new();
    for (name, (off, size)) in &sa {
        let bytes_a = a.get(*off as usize..(*off + *size) as usize);
        let bytes_b = sb
            .get(name)
            .and_then(|(o, s)| b.get(*o as usize..(*o + *s) as usize));
        if bytes_a != bytes_b {
            differing.push(name.clone());
        }
    }
    if !differing.is_empty() {
        out.push(format!(
            "sections with different bytes: {}",
            differing.join(" ")
        ));
    }
    if a.len() != b.len() {
        out.push(format!("size: {} vs {} bytes", a.len(), b.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    /// A PE file with the given sections: (name, file offset, size).
    fn pe(sections: &[(&str, u32, u32)]) -> Vec<u8> {
        let (pe, opt) = (0x40usize, 0usize);
        let mut b = vec![0u8; 0x200];
        b[..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&(pe as u32).to_le_bytes());
        b[pe + 6..pe + 8].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        b[pe + 20..pe + 22].copy_from_slice(&(opt as u16).to_le_bytes());
        for (i, (name, off, size)) in sections.iter().enumerate() {
            let s = pe + 24 + opt + i * 40;
            b[s..s + name.len()].copy_from_slice(name.as_bytes());
            b[s + 16..s + 20].copy_from_slice(&size.to_le_bytes());
            b[s + 20..s + 24].copy_from_slice(&off.to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_pe_sections() {
        let b = pe(&[(".text", 0x100, 0x40), (".data", 0x140, 0x20)]);
        let s = super::sections(&b);
        assert_eq!(s.get(".text"), Some(&(0x100, 0x40)));
        assert_eq!(s.get(".data"), Some(&(0x140, 0x20)));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn truncated_or_unknown_formats_have_no_sections() {
        assert!(super::sections(b"\x7fELF\x02").is_empty());
        assert!(super::sections(b"MZ").is_empty());
        assert!(super::sections(&[0xcf, 0xfa, 0xed, 0xfe]).is_empty());
        assert!(super::sections(b"#!/bin/sh").is_empty());
    }

    #[test]
    fn names_the_section_whose_bytes_differ() {
        let a = pe(&[(".text", 0x100, 0x40), (".data", 0x140, 0x20)]);
        let mut b = a.clone();
        b[0x150] ^= 1;
        assert_eq!(
            super::describe(&a, &b),
            vec!["sections with different bytes: .data".to_string()]
        );
        assert!(super::describe(&a, &a).is_empty());
    }

    #[test]
    fn describes_build_info_build_id_and_size() {
        let bin = |info: &str, id: &str, pad: usize| {
            let mut b = super::INFO_START.to_vec();
            b.extend_from_slice(info.as_bytes());
            b.extend_from_slice(&super::INFO_END);
            b.push(0xff);
            b.extend_from_slice(format!(" Go build ID: \"{id}\"").as_bytes());
            b.extend(std::iter::repeat(0).take(pad));
            b
        };
        let (a, b) = (
            bin("mod\tx\nbuild\tA\n", "1", 0),
            bin("mod\tx\nbuild\tB\n", "2", 1),
        );
        assert_eq!(super::build_info(&a).as_deref(), Some("mod\tx\nbuild\tA\n"));
        assert_eq!(
            super::describe(&a, &b),
            vec![
                "build info: - build\tA".to_string(),
                "build info: + build\tB".to_string(),
                "build ID: \"1\" vs \"2\"".to_string(),
                format!("size: {} vs {} bytes", a.len(), b.len()),
            ]
        );
    }

    #[test]
    fn reads_own_elf_sections() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let s = super::sections(&me);
        assert!(
            s.contains_key(".text"),
            "{:?}",
            s.keys().collect::<Vec<_>>()
        );
    }
}
