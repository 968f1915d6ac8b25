//! Data sets: IDX files (MNIST, Fashion-MNIST; gzip or raw), CIFAR-10 binary batches,
//! per-channel normalization and batching.
//!
//! Images are kept as bytes (a tenth of the memory of f32) and turned into normalized NCHW
//! f32 batches on demand.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Training or test part of a data set.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The test set (`t10k-*`, `test_batch.bin`).
    #[default]
    Test,
    /// The training set (`train-*`, `data_batch_1..5.bin`).
    Train,
}

/// Images with labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where the images came from (for messages).
    pub source: PathBuf,
    /// Channels, height, width.
    pub shape: [usize; 3],
    /// Pixels, image after image, channel-major (NCHW), 0..=255.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Per-channel (mean, std) applied after scaling pixels to [0, 1]; none keeps [0, 1].
    pub normalize: Option<(Vec<f32>, Vec<f32>)>,
}

fn data_err(file: &Path, message: impl Into<String>) -> EngineError {
    EngineError::DataFile {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Opens a data file, un-gzipping it as it is read if it starts with the gzip magic bytes.
fn open_maybe_gz(path: &Path, what: &str) -> Result<Box<dyn Read>> {
    use std::io::BufRead as _;
    let file = snnergy_files::open(path)
        .map_err(|e| data_err(path, format!("cannot read {what}: {}", e.message)))?;
    let mut r = std::io::BufReader::new(file);
    let head = r
        .fill_buf()
        .map_err(|e| data_err(path, format!("cannot read {what}: {e}")))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Reads exactly `n` bytes, or as many as there are: the buffer grows with what arrives, so a
/// header announcing more than the file holds costs no memory.
fn read_up_to(r: &mut dyn Read, n: u64, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n)
        .read_to_end(&mut out)
        .map_err(|e| data_err(path, format!("corrupt data in {what}: {e}")))?;
    Ok(out)
}

/// Reads an IDX file of unsigned bytes (gzip or raw): its dimensions and data.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    read_idx_limited(path, None)
}

/// Reads an IDX file of unsigned bytes (gzip or raw): its dimensions as the header announces
/// them and the data of at most `limit` items (entries of the first dimension). Only what is
/// kept is decompressed; without a limit, data beyond what the header announces is an error.
pub fn read_idx_limited(path: &Path, limit: Option<usize>) -> Result<(Vec<usize>, Vec<u8>)> {
    const FORMAT: &str = "IDX of unsigned bytes (magic 0x0000080N, big-endian dimension sizes, then the data), optionally gzipped";
    const WHAT: &str = "an IDX file";
    let mut r = open_maybe_gz(path, WHAT)?;
    let magic = read_up_to(&mut r, 4, path, WHAT)?;
    if magic.len() < 4 || magic[0] != 0 || magic[1] != 0 {
        return Err(data_err(
            path,
            format!("not an IDX file: expected {FORMAT}"),
        ));
    }
    if magic[2] != 0x08 {
        return Err(data_err(
            path,
            format!(
                "IDX element type 0x{:02x} is not unsigned byte (0x08); expected {FORMAT}",
                magic[2]
            ),
        ));
    }
    let ndim = magic[3] as usize;
    let header = read_up_to(&mut r, 4 * ndim as u64, path, WHAT)?;
    if ndim == 0 || header.len() < 4 * ndim {
        return Err(data_err(
            path,
            format!("truncated IDX header ({ndim} dimensions); expected {FORMAT}"),
        ));
    }
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let item = dims[1..]
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    let total = item.and_then(|i| i.checked_mul(dims[0] as u64));
    let (Some(item), Some(total)) = (item, total) else {
        return Err(data_err(
            path,
            format!("IDX header announces dimensions {dims:?}, more bytes than can be counted"),
        ));
    };
    let items = limit.map_or(dims[0], |l| l.min(dims[0]));
    let want = item.saturating_mul(items as u64);
    let data = read_up_to(&mut r, want, path, WHAT)?;
    let whole = items == dims[0];
    let extra = if whole {
        read_up_to(&mut r, 1, path, WHAT)?.len()
    } else {
        0
    };
    if (data.len() as u64) < want || extra > 0 {
        return Err(data_err(
            path,
            format!(
                "IDX header announces {dims:?} = {total} bytes of data, the file holds {}",
                if extra > 0 {
                    "more".to_string()
                } else {
                    data.len().to_string()
                }
            ),
        ));
    }
    Ok((dims, data))
}

fn find(dir: &Path, names: &[String]) -> Result<PathBuf> {
    for n in names {
        let p = dir.join(n);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(data_err(
        dir,
        format!(
            "none of {} found (expected IDX files as distributed for MNIST / Fashion-MNIST, raw or .gz)",
            names.join(", ")
        ),
    ))
}

impl Dataset {
    /// Loads an IDX data set from a folder: `train-images-idx3-ubyte[.gz]` and
    /// `train-labels-idx1-ubyte[.gz]`, or the `t10k-*` pair for the test split.
    pub fn idx(dir: &Path, split: Split) -> Result<Self> {
        Self::idx_limited(dir, split, None)
    }

    /// [`Dataset::idx`], keeping (and decompressing) only the first `limit` images.
    pub fn idx_limited(dir: &Path, split: Split, limit: Option<usize>) -> Result<Self> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let names = |kind: &str, d: u8| -> Vec<String> {
            let base = format!("{prefix}-{kind}-idx{d}-ubyte");
            let dotted = format!("{prefix}-{kind}.idx{d}-ubyte");
            vec![
                base.clone(),
                format!("{base}.gz"),
                dotted.clone(),
                format!("{dotted}.gz"),
            ]
        };
        let img_path = find(dir, &names("images", 3))?;
        let lbl_path = find(dir, &names("labels", 1))?;
        Self::idx_files_limited(&img_path, &lbl_path, limit)
    }

    /// Loads an image file (3 dimensions: n, rows, columns) and a label file (1 dimension).
    pub fn idx_files(images: &Path, labels: &Path) -> Result<Self> {
        Self::idx_files_limited(images, labels, None)
    }

    /// [`Dataset::idx_files`], keeping only the first `limit` images.
    pub fn idx_files_limited(images: &Path, labels: &Path, limit: Option<usize>) -> Result<Self> {
        let (dims, pixels) = read_idx_limited(images, limit)?;
        if dims.len() != 3 {
            return Err(data_err(
                images,
                format!(
                    "image IDX has {} dimensions {dims:?}; expected 3 (n, rows, columns)",
                    dims.len()
                ),
            ));
        }
        let (ldims, label_bytes) = read_idx_limited(labels, limit)?;
        if ldims.len() != 1 || ldims[0] != dims[0] {
            return Err(data_err(
                labels,
                format!(
                    "label IDX has dimensions {ldims:?}; expected one dimension of {} labels to match {}",
                    dims[0],
                    images.display()
                ),
            ));
        }
        if dims[1] == 0 || dims[2] == 0 {
            return Err(data_err(
                images,
                format!("images of {} × {} pixels hold nothing", dims[1], dims[2]),
            ));
        }
        if let Some((i, l)) = label_bytes.iter().enumerate().find(|(_, l)| **l > 9) {
            return Err(data_err(
                labels,
                format!("label {i} is {l}; MNIST and Fashion-MNIST labels are 0..=9"),
            ));
        }
        let ds = Self {
            source: images.to_path_buf(),
            shape: [1, dims[1], dims[2]],
            pixels,
            labels: label_bytes,
            normalize: None,
        };
        ds.check_nonempty()?;
        Ok(ds)
    }

    /// Loads CIFAR-10 binary batches (each record: 1 label byte, then 3072 bytes of
    /// 32×32 red, green and blue planes).
    pub fn cifar10_files(files: &[PathBuf]) -> Result<Self> {
        Self::cifar10_files_limited(files, None)
    }

    /// [`Dataset::cifar10_files`], keeping (and reading) only the first `limit` images.
    pub fn cifar10_files_limited(files: &[PathBuf], limit: Option<usize>) -> Result<Self> {
        const REC: usize = 1 + 3 * 32 * 32;
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        if files.is_empty() {
            return Err(EngineError::Invalid("no CIFAR-10 batch files given".into()));
        }
        for f in files {
            let left = limit.map(|l| l.saturating_sub(labels.len()));
            if left == Some(0) {
                break;
            }
            let mut r = open_maybe_gz(f, "a CIFAR-10 binary batch")?;
            let bytes = match left {
                Some(n) => read_up_to(
                    &mut r,
                    (n as u64).saturating_mul(REC as u64),
                    f,
                    "a CIFAR-10 binary batch",
                )?,
                None => {
                    let mut b = Vec::new();
                    r.read_to_end(&mut b).map_err(|e| {
                        data_err(f, format!("corrupt data in a CIFAR-10 binary batch: {e}"))
                    })?;
                    b
                }
            };
            if bytes.is_empty() || !bytes.len().is_multiple_of(REC) {
                return Err(data_err(
                    f,
                    format!(
                        "{} bytes is not a whole number of CIFAR-10 records; expected the binary version (records of 1 label byte + 3072 pixel bytes)",
                        bytes.len()
                    ),
                ));
            }
            for (i, rec) in bytes.chunks_exact(REC).enumerate() {
                if rec[0] > 9 {
                    return Err(data_err(
                        f,
                        format!("record {i} has label {}; CIFAR-10 labels are 0..=9", rec[0]),
                    ));
                }
                labels.push(rec[0]);
                pixels.extend_from_slice(&rec[1..]);
            }
        }
        Ok(Self {
            source: files[0].clone(),
            shape: [3, 32, 32],
            pixels,
            labels,
            normalize: None,
        })
    }

    /// Loads CIFAR-10 from a folder holding `test_batch.bin` or `data_batch_{1..5}.bin`.
    pub fn cifar10(dir: &Path, split: Split) -> Result<Self> {
        Self::cifar10_limited(dir, split, None)
    }

    /// [`Dataset::cifar10`], keeping only the first `limit` images.
    pub fn cifar10_limited(dir: &Path, split: Split, limit: Option<usize>) -> Result<Self> {
        let names: Vec<String> = match split {
            Split::Test => vec!["test_batch.bin".into()],
            Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        };
        let files = names
            .iter()
            .map(|n| find(dir, std::slice::from_ref(n)).map_err(|_| {
                data_err(
                    &dir.join(n),
                    "missing CIFAR-10 batch (expected the binary version: records of 1 label byte + 3072 pixel bytes)",
                )
            }))
            .collect::<Result<Vec<_>>>()?;
        Self::cifar10_files_limited(&files, limit)
    }

    fn check_nonempty(&self) -> Result<()> {
        if self.is_empty() {
            return Err(data_err(&self.source, "the data set holds no images"));
        }
        Ok(())
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image.
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Sets per-channel normalization `(x − mean) / std` of pixels scaled to [0, 1].
    pub fn with_normalization(mut self, mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        let c = self.shape[0];
        for (what, v) in [("mean", &mean), ("std", &std)] {
            if v.len() != c && v.len() != 1 {
                return Err(EngineError::Invalid(format!(
                    "normalization {what} has {} values; the data has {c} channel(s)",
                    v.len()
                )));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(EngineError::Invalid(format!(
                    "normalization {what} is not finite"
                )));
            }
        }
        if std.iter().any(|s| *s <= 0.0) {
            return Err(EngineError::Invalid(
                "normalization std must be positive".into(),
            ));
        }
        let widen = |v: Vec<f32>| if v.len() == 1 { vec![v[0]; c] } else { v };
        self.normalize = Some((widen(mean), widen(std)));
        Ok(self)
    }

    /// The first `n` images (or all).
    pub fn take(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.pixels.truncate(n * self.image_len());
        self.labels.truncate(n);
        self
    }

    /// Images `range` as f32 NCHW, scaled to [0, 1] and normalized.
    pub fn batch(&self, range: std::ops::Range<usize>) -> Vec<f32> {
        let len = self.image_len();
        let mut out = Vec::with_capacity(range.len() * len);
        for i in range {
            self.push_image(i, &mut out);
        }
        out
    }

    /// Images `indices`, in that order, as f32 NCHW, scaled and normalized as by
    /// [`Dataset::batch`].
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            self.push_image(i, &mut out);
        }
        out
    }

    fn push_image(&self, i: usize, out: &mut Vec<f32>) {
        let len = self.image_len();
        let plane = self.shape[1] * self.shape[2];
        let px = &self.pixels[i * len..(i + 1) * len];
        match &self.normalize {
            None => out.extend(px.iter().map(|p| *p as f32 / 255.0)),
            Some((mean, std)) => out.extend(px.iter().enumerate().map(|(k, p)| {
                let c = k / plane;
                (*p as f32 / 255.0 - mean[c]) / std[c]
            })),
        }
    }
}
