//! `hardware`: any chip described as data — one of the shipped accelerators
//! (`eyeriss-like`, `tpu-like`, `output-stationary`, or the descriptions behind `classical`,
//! `spatial` and `neuromorphic`) or a TOML file of the user's — with every layer mapped on
//! the whole chip, each format at its own best.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{Architecture, Assumption, BuildContext, Component, ConfigError};
use snnergy_mapper::{Constraints, Hardware};

use crate::classical::count;
use crate::common::{DirectInput, bits_param};
use crate::hw::{Dataflow, Effort, HardwareArchitecture, LayerRules, MapOptions, Rules, TimeOrder};

/// Every description snnergy ships, by name: the mapper's three accelerators and the whole-chip
/// hierarchy `classical` starts from.
pub fn shipped() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = snnergy_mapper::SHIPPED.to_vec();
    v.push(("classical", crate::classical::DESCRIPTION));
    v
}

/// Every description snnergy ships, including those whose rules give each layer part of the
/// chip (`spatial`, `neuromorphic`): what `snnergy describe` shows.
pub fn all_descriptions() -> Vec<(&'static str, &'static str)> {
    let mut v = shipped();
    v.push(("spatial", crate::spatial::DESCRIPTION));
    v.push(("neuromorphic", crate::neuromorphic::DESCRIPTION));
    v
}

/// `[[architecture]] type = "hardware"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChipConfig {
    /// a shipped chip: "eyeriss-like" (default), "tpu-like", "output-stationary" or
    /// "classical"
    pub chip: String,
    /// a hardware description of your own (TOML, relative to the pipeline file); replaces
    /// `chip`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<PathBuf>,
    /// "layer-major" (default), "timestep-major" or "time-batched"
    pub loop_order: TimeOrder,
    /// "auto" (default) or "reuse-free" (every operation reads its operands from the
    /// outermost on-chip level and updates its sum there)
    pub dataflow: Dataflow,
    /// inferences sharing each weight fetch; default 1. Energy and latency are per inference
    pub batch: u64,
    /// whether a layer's inputs and outputs stay on chip between layers when they fit the
    /// outermost on-chip level (default true)
    pub activations_on_chip: bool,
    /// direct-coded first layer: "once" (default) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
    /// how hard the mapper searches each layer: "quick", "default" or "thorough"
    pub effort: Effort,
    /// whether the search also tries uneven spatial unrollings (a dimension stretched over more
    /// of an array axis than its divisors fill, the last fold partial), as ZigZag unrolls;
    /// default false. At the densities a layer is mapped for, never worse than without; a
    /// Timeloop export refuses such a mapping
    pub uneven: bool,
    /// pins on every weighted layer's mapping, Timeloop-like: `[[constraints.levels]]` with
    /// `level`, `temporal_factors`, `permutation`, `outermost`, `spatial_x(_factors)`,
    /// `spatial_y(_factors)`, `keep`, `input_format`, `output_format`, and `spans_above`
    /// (per-operand boundaries, e.g. `{ inputs = 2 }`: that kept data space's tile takes in
    /// the 2 temporal loops directly above the level, as ZigZag's per-operand temporal
    /// mapping; needs `keep` pinned)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
}

impl Default for ChipConfig {
    fn default() -> Self {
        Self {
            chip: "eyeriss-like".into(),
            description: None,
            loop_order: TimeOrder::LayerMajor,
            dataflow: Dataflow::Auto,
            batch: 1,
            activations_on_chip: true,
            direct_input: DirectInput::Once,
            input_bits: 8,
            effort: Effort::Default,
            uneven: false,
            constraints: None,
        }
    }
}

/// A chip described as data, mapped layer by layer.
#[derive(Clone, Debug)]
pub struct Chip {
    config: ChipConfig,
    inner: HardwareArchitecture,
}

impl Chip {
    /// Reads the description (`description` relative to `base_dir`) and validates it.
    pub fn new(config: ChipConfig, base_dir: &std::path::Path) -> Result<Self, ConfigError> {
        let c = &config;
        bits_param("input_bits", c.input_bits)?;
        count("batch", c.batch, "the batch")?;
        let (text, key, name) = match &c.description {
            Some(path) => {
                let full = base_dir.join(path);
                // Read as an input of the run: no output of it may replace the description.
                let text = snnergy_files::read_to_string(&full).map_err(|e| {
                    ConfigError::new(format!("cannot read `{}`: {}", full.display(), e.message))
                        .at_key("description")
                })?;
                (text, "description", full.display().to_string())
            }
            None => {
                let found = shipped().into_iter().find(|(n, _)| *n == c.chip);
                let Some((_, text)) = found else {
                    return Err(ConfigError::new(format!(
                        "no shipped chip `{}` (shipped: {})",
                        c.chip,
                        shipped()
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .at_key("chip"));
                };
                (text.to_string(), "chip", c.chip.clone())
            }
        };
        let hw = Hardware::from_toml(&text)
            .map_err(|e| ConfigError::new(format!("`{name}`: {e}")).at_key(key))?;
        Self::build_on(config, hw, key, &name)
    }

    /// On a description built in code (the configuration's `chip` and `description` are not
    /// read).
    pub fn with_hardware(config: ChipConfig, hw: Hardware) -> Result<Self, ConfigError> {
        let name = hw.name.clone();
        Self::build_on(config, hw, "chip", &name)
    }

    fn build_on(
        config: ChipConfig,
        hw: Hardware,
        key: &str,
        name: &str,
    ) -> Result<Self, ConfigError> {
        let c = &config;
        bits_param("input_bits", c.input_bits)?;
        count("batch", c.batch, "the batch")?;
        hw.validate()
            .map_err(|e| ConfigError::new(format!("`{name}`: {e}")).at_key(key))?;
        if let Some(pins) = &c.constraints {
            for (i, lc) in pins.levels.iter().enumerate() {
                if hw.level_index(&lc.level).is_none() {
                    return Err(ConfigError::new(format!(
                        "`{}` has no level `{}` (levels: {})",
                        hw.name,
                        lc.level,
                        hw.levels
                            .iter()
                            .map(|l| l.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .at_key(format!("constraints.levels[{i}].level")));
                }
            }
        }
        let notes = vec![Assumption::new(
            "description",
            name,
            "every number of the chip comes from it; `snnergy describe --hardware` shows it",
        )];
        let inner = HardwareArchitecture::new(
            "hardware",
            hw,
            Rules::Chip,
            LayerRules {
                batch: c.batch,
                direct_input: c.direct_input,
                input_bits: c.input_bits,
            },
            MapOptions {
                time_order: c.loop_order,
                dataflow: c.dataflow,
                effort: c.effort,
                uneven: c.uneven,
                activations_on_chip: c.activations_on_chip,
                formats: Vec::new(),
                pins: c.constraints.clone(),
            },
            notes,
        )
        .map_err(|e| e.at_key(key))?;
        Ok(Self { config, inner })
    }
}

impl Component for Chip {
    type Interface = dyn Architecture;
    type Config = ChipConfig;
    const NAME: &'static str = "hardware";
    const SUMMARY: &'static str = "any chip described as data (a shipped accelerator or your own TOML), every layer mapped on the whole chip";

    fn build(
        config: ChipConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Chip::new(config, ctx.base_dir)?))
    }

    fn example() -> toml::Table {
        // The shipped chips state every price themselves; any table will do.
        crate::example(&[("energy", "horowitz-45nm"), ("chip", "eyeriss-like")])
    }
}

crate::hw::delegate!(Chip, ChipConfig);
