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

/// A data file opened for reading: un-gzipped as it is read if it starts with the gzip magic
/// bytes; a raw file's size is known before anything is read.
struct DataReader {
    r: Box<dyn Read>,
    /// The size of a raw (not gzipped) file.
    raw_size: Option<u64>,
}

fn open_maybe_gz(path: &Path, what: &str) -> Result<DataReader> {
    use std::io::BufRead as _;
    let file = snnergy_files::open(path)
        .map_err(|e| data_err(path, format!("cannot read {what}: {}", e.message)))?;
    let size = file
        .metadata()
        .map_err(|e| data_err(path, format!("cannot read {what}: {e}")))?
        .len();
    let mut r = std::io::BufReader::new(file);
    let head = r
        .fill_buf()
        .map_err(|e| data_err(path, format!("cannot read {what}: {e}")))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        DataReader {
            r: Box::new(flate2::bufread::MultiGzDecoder::new(r)),
            raw_size: None,
        }
    } else {
        DataReader {
            r: Box::new(r),
            raw_size: Some(size),
        }
    })
}

/// Reads exactly `n` bytes, or as many as there are. Only a raw file's size says how many
/// there are; from a gzip stream the buffer grows with what arrives, so a header announcing
/// more than the file holds costs no memory.
fn read_up_to(r: &mut DataReader, n: u64, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(size) = r.raw_size {
        let n = usize::try_from(n.min(size))
            .map_err(|_| data_err(path, format!("{n} bytes of {what} cannot be held")))?;
        out.try_reserve_exact(n)
            .map_err(|_| data_err(path, format!("cannot allocate {n} bytes for {what}")))?;
    }
    (&mut r.r)
        .take(n)
        .read_to_end(&mut out)
        .map_err(|e| data_err(path, format!("corrupt data in {what}: {e}")))?;
    Ok(out)
}

/// Reads an IDX file of unsigned bytes (gzip or raw): its dimensions and data.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    read_idx_limited(path, None)
}

const IDX_FORMAT: &str = "IDX of unsigned bytes (magic 0x0000080N, big-endian dimension sizes, then the data), optionally gzipped";
const IDX: &str = "an IDX file";

/// An IDX file's dimensions, read from its header alone, and the reader positioned at its
/// data. A raw file whose size is not the header's plus the data the header announces is
/// refused here, before any data is read.
fn idx_header(path: &Path) -> Result<(Vec<usize>, DataReader)> {
    let mut r = open_maybe_gz(path, IDX)?;
    let magic = read_up_to(&mut r, 4, path, IDX)?;
    if magic.len() < 4 || magic[0] != 0 || magic[1] != 0 {
        return Err(data_err(
            path,
            format!("not an IDX file: expected {IDX_FORMAT}"),
        ));
    }
    if magic[2] != 0x08 {
        return Err(data_err(
            path,
            format!(
                "IDX element type 0x{:02x} is not unsigned byte (0x08); expected {IDX_FORMAT}",
                magic[2]
            ),
        ));
    }
    let ndim = magic[3] as usize;
    let header = read_up_to(&mut r, 4 * ndim as u64, path, IDX)?;
    if ndim == 0 || header.len() < 4 * ndim {
        return Err(data_err(
            path,
            format!("truncated IDX header ({ndim} dimensions); expected {IDX_FORMAT}"),
        ));
    }
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let total = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .ok_or_else(|| {
            data_err(
                path,
                format!("IDX header announces dimensions {dims:?}, more bytes than can be counted"),
            )
        })?;
    if let Some(size) = r.raw_size {
        let expected = 4 + 4 * ndim as u64 + total;
        if size != expected {
            return Err(data_err(
                path,
                format!(
                    "IDX header announces {dims:?} = {total} bytes of data, the file holds {}",
                    size.saturating_sub(4 + 4 * ndim as u64)
                ),
            ));
        }
    }
    Ok((dims, r))
}

/// An IDX file's dimensions, from its header alone (nothing else is decompressed).
pub fn idx_dims(path: &Path) -> Result<Vec<usize>> {
    idx_header(path).map(|(dims, _)| dims)
}

/// Reads an IDX file of unsigned bytes (gzip or raw): its dimensions as the header announces
/// them and the data of at most `limit` items (entries of the first dimension). Only what is
/// kept is decompressed; without a limit, data beyond what the header announces is an error.
pub fn read_idx_limited(path: &Path, limit: Option<usize>) -> Result<(Vec<usize>, Vec<u8>)> {
    let (dims, mut r) = idx_header(path)?;
    // With a zero first dimension the header's total is 0 whatever the rest announce, so the
    // size of one item is checked on its own.
    let item = dims[1..]
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .ok_or_else(|| {
            data_err(
                path,
                format!(
                    "IDX header announces items of {:?}, more bytes than can be counted",
                    &dims[1..]
                ),
            )
        })?;
    let total = item.saturating_mul(dims[0] as u64);
    let items = limit.map_or(dims[0], |l| l.min(dims[0]));
    let want = item.saturating_mul(items as u64);
    let data = read_up_to(&mut r, want, path, IDX)?;
    let whole = items == dims[0];
    let extra = if whole {
        read_up_to(&mut r, 1, path, IDX)?.len()
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

const CIFAR: &str = "a CIFAR-10 binary batch";
/// Bytes of one CIFAR-10 record: the label and 3 × 32 × 32 pixels.
pub const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

fn not_records(f: &Path, bytes: u64) -> EngineError {
    data_err(
        f,
        format!(
            "{bytes} bytes is not a whole number of CIFAR-10 records; expected the binary version (records of 1 label byte + 3072 pixel bytes)"
        ),
    )
}

/// Images a CIFAR-10 batch holds, from its size (`None` for a gzipped one, whose size says
/// nothing); a raw batch that is not whole records is refused without being read.
pub fn cifar10_images(path: &Path) -> Result<Option<usize>> {
    let r = open_maybe_gz(path, CIFAR)?;
    match r.raw_size {
        None => Ok(None),
        Some(size) if size > 0 && size.is_multiple_of(CIFAR_RECORD as u64) => {
            Ok(Some((size / CIFAR_RECORD as u64) as usize))
        }
        Some(size) => Err(not_records(path, size)),
    }
}

/// The image and label files of an IDX split.
fn idx_files(dir: &Path, split: Split) -> Result<(PathBuf, PathBuf)> {
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
    Ok((
        find(dir, &names("images", 3))?,
        find(dir, &names("labels", 1))?,
    ))
}

/// The batch files of a CIFAR-10 split.
fn cifar10_batches(dir: &Path, split: Split) -> Result<Vec<PathBuf>> {
    let names: Vec<String> = match split {
        Split::Test => vec!["test_batch.bin".into()],
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
    };
    names
        .iter()
        .map(|n| {
            find(dir, std::slice::from_ref(n)).map_err(|_| {
                data_err(
                    &dir.join(n),
                    "missing CIFAR-10 batch (expected the binary version: records of 1 label byte + 3072 pixel bytes)",
                )
            })
        })
        .collect()
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
        let (img_path, lbl_path) = idx_files(dir, split)?;
        Self::idx_files_limited(&img_path, &lbl_path, limit)
    }

    /// The image file of an IDX split and the dimensions its header announces, read without
    /// its data.
    pub fn idx_announced(dir: &Path, split: Split) -> Result<(PathBuf, Vec<usize>)> {
        let (img_path, _) = idx_files(dir, split)?;
        let dims = idx_dims(&img_path)?;
        Ok((img_path, dims))
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
        const REC: usize = CIFAR_RECORD;
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
            let mut r = open_maybe_gz(f, CIFAR)?;
            // A raw batch's size says whether it is whole records before anything is read.
            if let Some(size) = r.raw_size
                && (size == 0 || !size.is_multiple_of(REC as u64))
            {
                return Err(not_records(f, size));
            }
            let want = left.map_or(u64::MAX, |n| (n as u64).saturating_mul(REC as u64));
            let bytes = read_up_to(&mut r, want, f, CIFAR)?;
            if bytes.is_empty() || !bytes.len().is_multiple_of(REC) {
                return Err(not_records(f, bytes.len() as u64));
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
        Self::cifar10_files_limited(&cifar10_batches(dir, split)?, limit)
    }

    /// The first batch file of a CIFAR-10 split and the images the split's batches hold by
    /// their sizes (`None` when one is gzipped), read without their data.
    pub fn cifar10_announced(dir: &Path, split: Split) -> Result<(PathBuf, Option<usize>)> {
        let files = cifar10_batches(dir, split)?;
        let mut total = Some(0usize);
        for f in &files {
            let n = cifar10_images(f)?;
            total = total.zip(n).map(|(a, b)| a.saturating_add(b));
        }
        Ok((files[0].clone(), total))
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
