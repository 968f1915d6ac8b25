//! Training checkpoints: one safetensors file holding the network's tensors under PyTorch's
//! names (what [`Model::load`] and the engine read) and the optimizer state as
//! `optimizer.<tensor>.<buffer>` (`momentum_buffer` for SGD, `exp_avg` and `exp_avg_sq` for
//! Adam, as PyTorch names them), with the epoch, the optimizer's step count and its kind in
//! the file's metadata.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use snnergy_core::{Network, Regularizer};

use super::Trainer;
use super::config::TrainConfig;
use crate::error::{EngineError, Result};
use crate::model::{Model, OPTIMIZER_PREFIX, Tensor, read_tensors, write_tensors};

const EPOCH: &str = "snnergy.epoch";
const STEPS: &str = "snnergy.optimizer_steps";
const OPTIMIZER: &str = "snnergy.optimizer";
const TIMESTEPS: &str = "snnergy.timesteps";
const SHIFT: &str = "snnergy.shift";

/// Writes the trainer's tensors and optimizer state to `path`; `resumed`: the run read `path`
/// as its starting point, so replacing that input is what was asked for.
pub fn save(path: &Path, trainer: &Trainer, resumed: bool) -> Result<()> {
    let mut tensors: BTreeMap<String, Tensor> = BTreeMap::new();
    let names = trainer.optimizer.state_names();
    let trained = trainer.slots().iter().filter(|s| s.trained());
    for (k, slot) in trained.enumerate() {
        for (b, buf) in names.iter().enumerate() {
            let data = if b == 0 {
                &trainer.optimizer.first[k]
            } else {
                &trainer.optimizer.second[k]
            };
            tensors.insert(
                format!("{OPTIMIZER_PREFIX}{}.{buf}", slot.name),
                Tensor {
                    shape: slot.shape.clone(),
                    data: data.clone(),
                },
            );
        }
    }
    for slot in trainer.slots() {
        tensors.insert(
            slot.name.clone(),
            Tensor {
                shape: slot.shape.clone(),
                data: slot.value.clone(),
            },
        );
    }
    let mut meta = HashMap::new();
    meta.insert("network".to_string(), trainer.network().name.clone());
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert(EPOCH.to_string(), trainer.epoch.to_string());
    meta.insert(STEPS.to_string(), trainer.optimizer.steps.to_string());
    meta.insert(
        OPTIMIZER.to_string(),
        trainer.optimizer.kind.name().to_string(),
    );
    meta.insert(TIMESTEPS.to_string(), trainer.timesteps().to_string());
    meta.insert(SHIFT.to_string(), trainer.quantizer().shift.to_string());
    write_tensors(
        path,
        &tensors,
        meta,
        snnergy_files::WriteOptions {
            replaces_input: resumed,
            // Saved after every epoch: the same output advanced.
            repeats: true,
        },
    )
}

fn bad(path: &Path, message: String) -> EngineError {
    EngineError::WeightsFile {
        file: path.to_path_buf(),
        message,
    }
}

/// A trainer continuing from the checkpoint at `path`: its tensors (checked against
/// `network`: a tensor missing or of another shape is named), its optimizer state (which must
/// be of `cfg`'s optimizer) and its epoch.
pub fn resume(
    path: &Path,
    network: Network,
    cfg: &TrainConfig,
    timesteps: u32,
    regularizers: Vec<Box<dyn Regularizer>>,
) -> Result<Trainer> {
    match std::fs::metadata(path) {
        Err(_) => {
            return Err(bad(
                path,
                "`resume` needs the checkpoint of an earlier run, and there is none".into(),
            ));
        }
        Ok(m) if m.is_dir() => {
            return Err(bad(
                path,
                "is a folder; `checkpoint` names the checkpoint file (e.g. …/checkpoint.safetensors)"
                    .into(),
            ));
        }
        Ok(_) => {}
    }
    let (tensors, meta) = read_tensors(path)?;
    let (epoch, steps) = check_metadata(path, &meta, cfg, timesteps)?;
    // A checkpoint is written only from finite values (training stops on a non-finite loss),
    // so NaN or infinity in it means the file was damaged, not that training diverged.
    if let Some((name, _)) = tensors
        .iter()
        .find(|(_, t)| t.data.iter().any(|v| !v.is_finite()))
    {
        return Err(bad(
            path,
            format!("tensor `{name}` holds NaN or infinite values: the checkpoint is corrupt"),
        ));
    }
    let (state, params): (BTreeMap<_, _>, BTreeMap<_, _>) = tensors
        .into_iter()
        .partition(|(k, _)| k.starts_with(OPTIMIZER_PREFIX));
    let model = Model::from_tensors(network, params, path)?;
    let mut trainer = Trainer::new(&model, cfg, timesteps, regularizers)?;
    restore_optimizer_state(&mut trainer, state, path)?;
    trainer.optimizer.steps = steps;
    trainer.epoch = epoch;
    Ok(trainer)
}

/// The checkpoint's epoch and optimizer steps from its metadata `meta`, which must be of
/// `cfg`'s optimizer, T and quantizer shift.
fn check_metadata(
    path: &Path,
    meta: &HashMap<String, String>,
    cfg: &TrainConfig,
    timesteps: u32,
) -> Result<(u32, u64)> {
    let get = |key: &str| -> Result<&String> {
        meta.get(key).ok_or_else(|| {
            bad(
                path,
                format!("not a training checkpoint of snnergy (no `{key}` in its metadata): start from it with `init` instead"),
            )
        })
    };
    let kind = get(OPTIMIZER)?;
    if kind != cfg.optimizer.name() {
        return Err(bad(
            path,
            format!(
                "the checkpoint holds the state of optimizer `{kind}`, [train] asks for `{}`",
                cfg.optimizer.name()
            ),
        ));
    }
    let parse = |key: &str| -> Result<u64> {
        get(key)?
            .parse()
            .map_err(|_| bad(path, format!("metadata `{key}` is not a number")))
    };
    let epoch = u32::try_from(parse(EPOCH)?).map_err(|_| {
        bad(
            path,
            format!("metadata `{EPOCH}` is beyond any epoch count: the file is corrupt"),
        )
    })?;
    let steps = parse(STEPS)?;
    if let Ok(t) = parse(TIMESTEPS)
        && t != timesteps as u64
    {
        return Err(bad(
            path,
            format!("the checkpoint was trained for T = {t}, this run is for T = {timesteps}"),
        ));
    }
    if let Some(shift) = meta.get(SHIFT).and_then(|s| s.parse::<f32>().ok())
        && shift != cfg.shift as f32
    {
        return Err(bad(
            path,
            format!(
                "the checkpoint was trained with quantizer shift {shift}, [train] shift = {}",
                cfg.shift
            ),
        ));
    }
    Ok((epoch, steps))
}

/// Fills the optimizer's moments from the checkpoint's `state`: one tensor per trained
/// tensor and moment, of its shape, and none left over.
fn restore_optimizer_state(
    trainer: &mut Trainer,
    mut state: BTreeMap<String, Tensor>,
    path: &Path,
) -> Result<()> {
    let names = trainer.optimizer.state_names();
    let trained: Vec<(String, Vec<usize>)> = trainer
        .slots()
        .iter()
        .filter(|s| s.trained())
        .map(|s| (s.name.clone(), s.shape.clone()))
        .collect();
    for (k, (name, shape)) in trained.iter().enumerate() {
        for (b, buf) in names.iter().enumerate() {
            let key = format!("{OPTIMIZER_PREFIX}{name}.{buf}");
            let t = state
                .remove(&key)
                .ok_or_else(|| EngineError::MissingTensor {
                    file: path.to_path_buf(),
                    tensor: key.clone(),
                    layer: name
                        .rsplit_once('.')
                        .map_or(name.as_str(), |p| p.0)
                        .to_string(),
                    expected: shape.clone(),
                })?;
            if &t.shape != shape {
                return Err(EngineError::ShapeMismatch {
                    tensor: key,
                    layer: name.clone(),
                    expected: shape.clone(),
                    found: t.shape,
                });
            }
            if b == 0 {
                trainer.optimizer.first[k] = t.data;
            } else {
                trainer.optimizer.second[k] = t.data;
            }
        }
    }
    if let Some(extra) = state.keys().next() {
        return Err(bad(
            path,
            format!("optimizer state `{extra}` belongs to no tensor of the network"),
        ));
    }
    Ok(())
}
