//! A plugin file is checked before the dynamic loader sees it. The loader maps a library's
//! segments straight from the file: a truncated or damaged file maps pages past its end, and
//! the first touch of one kills the process with SIGBUS, with no message. Parsing the headers
//! first turns that into an error naming the file. The headers are read from the file as
//! they are needed, never the whole file: a multi-gigabyte file that is no library is refused
//! from its first bytes.

use std::path::Path;

use object::{Object as _, ObjectSection as _, ObjectSegment as _, ReadRef};

use crate::library::{PluginError, PluginErrorKind};

fn not_a_library(path: &Path, why: impl std::fmt::Display) -> PluginError {
    PluginError::new(
        path,
        PluginErrorKind::NotALibrary,
        format!(
            "not a loadable library: {why}; expected a shared library (`{}…{}`) built with crate-type = [\"cdylib\"]",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ),
    )
}

/// The object format libraries have on this system.
fn native_format() -> Option<object::BinaryFormat> {
    if cfg!(target_os = "macos") {
        Some(object::BinaryFormat::MachO)
    } else if cfg!(windows) {
        Some(object::BinaryFormat::Pe)
    } else if cfg!(unix) {
        Some(object::BinaryFormat::Elf)
    } else {
        None
    }
}

fn native_architecture() -> Option<object::Architecture> {
    use object::Architecture as A;
    Some(match std::env::consts::ARCH {
        "x86_64" => A::X86_64,
        "x86" => A::I386,
        "aarch64" => A::Aarch64,
        "arm" => A::Arm,
        "riscv64" => A::Riscv64,
        "powerpc64" => A::PowerPc64,
        "s390x" => A::S390x,
        "loongarch64" => A::LoongArch64,
        _ => return None,
    })
}

/// Checks that `path` is a shared library of this system whose headers, sections and
/// segments all lie within the file.
pub(crate) fn check_library(path: &Path) -> Result<(), PluginError> {
    let file = snnergy_files::open(path)
        .map_err(|e| PluginError::new(path, PluginErrorKind::NotFound, e.message))?;
    let len = file
        .metadata()
        .map_err(|e| PluginError::new(path, PluginErrorKind::NotFound, e.to_string()))?
        .len();
    let cache = object::ReadCache::new(file);
    check_data(&cache, len).map_err(|why| not_a_library(path, why))
}

/// [`check_library`] on the file's bytes; the reason when they are not a loadable library.
#[cfg(test)]
fn check_bytes(data: &[u8]) -> Result<(), String> {
    check_data(data, data.len() as u64)
}

/// The checks on `len` bytes read through `data`, which reads only what the headers need.
fn check_data<'a, R: ReadRef<'a>>(data: R, len: u64) -> Result<(), String> {
    let file = object::File::parse(data).map_err(|e| format!("unreadable headers ({e})"))?;
    if let Some(native) = native_format()
        && file.format() != native
    {
        return Err(format!(
            "a {:?} file; this system loads {native:?} libraries",
            file.format()
        ));
    }
    if let Some(arch) = native_architecture()
        && file.architecture() != arch
    {
        return Err(format!(
            "built for {:?}; this system is {arch:?}",
            file.architecture()
        ));
    }
    if file.kind() != object::ObjectKind::Dynamic {
        return Err(format!(
            "a {:?} object file, not a shared library",
            file.kind()
        ));
    }
    let within = |range: Option<(u64, u64)>| match range {
        None => true,
        Some((offset, size)) => offset.checked_add(size).is_some_and(|end| end <= len),
    };
    for segment in file.segments() {
        let range = segment.file_range();
        if !within(Some(range)) {
            return Err(format!(
                "a segment spans bytes {}..{} of a {len}-byte file (truncated?)",
                range.0,
                range.0.saturating_add(range.1)
            ));
        }
    }
    for section in file.sections() {
        let range = section.file_range();
        if !within(range) {
            let (o, s) = range.unwrap_or_default();
            return Err(format!(
                "section `{}` spans bytes {o}..{} of a {len}-byte file (truncated?)",
                section.name().unwrap_or("?"),
                o.saturating_add(s)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_bytes;

    #[test]
    fn a_truncated_object_file_is_refused_at_every_length() {
        // This test's own executable stands in for a library: what matters is that no
        // truncation of a real object file is taken as loadable.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let mut lengths: Vec<usize> = (0..64).chain([100, 1000, 4096, 65536]).collect();
        lengths.extend([exe.len() / 2, exe.len() - 4096, exe.len() - 1]);
        for n in lengths.into_iter().filter(|n| *n < exe.len()) {
            assert!(
                check_bytes(&exe[..n]).is_err(),
                "{n} of {} bytes",
                exe.len()
            );
        }
    }

    #[test]
    fn text_and_empty_files_are_not_libraries() {
        assert!(check_bytes(b"").is_err());
        assert!(check_bytes(b"\x7fELF").is_err());
        assert!(check_bytes(b"not a library at all").is_err());
    }
}
