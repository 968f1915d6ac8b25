//! `.snnergy-manifest.json`: the files snnergy wrote in a folder, which later runs may
//! replace.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FileError;

/// The manifest's file name in every folder snnergy writes into.
pub const MANIFEST: &str = ".snnergy-manifest.json";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Explains the file to whoever finds it.
    #[serde(default)]
    about: String,
    /// File names (not paths) in the manifest's folder.
    #[serde(default)]
    pub(crate) files: BTreeSet<String>,
}

impl Manifest {
    /// The manifest of `dir`; none (or an unreadable one) is empty: then no existing file is
    /// taken as snnergy's, which is the safe reading.
    pub(crate) fn read(dir: &Path) -> Result<Self, FileError> {
        let path = dir.join(MANIFEST);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            _ => return Ok(Self::default()),
        }
        let text = std::fs::read(&path).unwrap_or_default();
        Ok(serde_json::from_slice(&text).unwrap_or_default())
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    /// Adds `name`; whether it was new.
    pub(crate) fn insert(&mut self, name: &std::ffi::OsStr) -> bool {
        self.files.insert(name.to_string_lossy().into_owned())
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let m = Manifest {
            about: "files written by snnergy in this folder; a later run may replace exactly these"
                .into(),
            files: self.files.clone(),
        };
        let mut text = serde_json::to_vec_pretty(&m).unwrap_or_default();
        text.push(b'\n');
        text
    }

    /// Replaces `dir`'s manifest atomically.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), FileError> {
        let name = std::ffi::OsStr::new(MANIFEST);
        if let Ok(m) = std::fs::symlink_metadata(dir.join(name))
            && !m.is_file()
        {
            return Err(FileError::new(
                &dir.join(name),
                "is not a regular file; snnergy keeps its list of written files there",
            ));
        }
        let tmp = crate::temp::temp_file(dir, name, &self.to_bytes())?;
        std::fs::rename(&tmp.path, dir.join(name)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp.path);
            FileError::io(&dir.join(name), "update it", e)
        })
    }
}
