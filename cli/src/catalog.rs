//! `snnergy list` and `snnergy describe TYPE`.

use anyhow::bail;
use clap::Args;
use comfy_table::{Cell, Table, presets};
use snnergy::core::Kind;
use snnergy::core::registry::closest;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this kind: workload, activity, architecture, energy, regularizer.
    kind: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The type name, as in `type = "…"`.
    name: String,
}

fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.section()).collect();
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.section() == s || k.to_string() == s)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown kind `{s}` (kinds: {}){}",
                kinds.join(", "),
                closest(s, kinds.iter().copied())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default()
            )
        })
}

pub fn list(args: ListArgs) -> anyhow::Result<()> {
    let registry = crate::registry()?;
    let kinds: Vec<Kind> = match &args.kind {
        Some(k) => vec![parse_kind(k)?],
        None => Kind::ALL.to_vec(),
    };
    if args.json {
        let items: Vec<_> = kinds.iter().flat_map(|k| registry.infos(*k)).collect();
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    for kind in kinds {
        let infos = registry.infos(kind);
        let header = match kind {
            Kind::Architecture => "[[architecture]]".to_string(),
            Kind::Regularizer => "[[train.regularizer]]".to_string(),
            k => format!("[{}]", k.section()),
        };
        outln!("{kind} ({header}):");
        if infos.is_empty() {
            outln!("  (none registered)\n");
            continue;
        }
        let mut t = Table::new();
        t.load_style(presets::NOTHING);
        for i in infos {
            let origin = match &i.origin {
                snnergy::core::Origin::Builtin => String::new(),
                o => format!(" [{o}]"),
            };
            t.add_row(vec![
                Cell::new(format!("  {}", i.name)),
                Cell::new(format!("{}{origin}", i.summary)),
            ]);
        }
        // The borderless preset pads every row to the widest; trailing blanks help nobody.
        let text: Vec<String> = t
            .to_string()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        outln!("{}\n", text.join("\n"));
    }
    Ok(())
}

pub fn describe(args: DescribeArgs) -> anyhow::Result<()> {
    // `[train]` is a pipeline section, not a registered type, but users look for its keys
    // the same way.
    if args.name == "train" {
        outln!("pipeline section [train] (`snnergy train PIPELINE`)");
        outln!(
            "trains the pipeline's workload as the QNN of its SNN, then converts it and gives the energy verdict\n"
        );
        outln!("Keys:");
        for (key, doc) in snnergy::engine::train::config::PARAMS {
            outln!("  {key}\n      {doc}");
        }
        outln!("\nExample: pipelines/train-fashion-mnist.toml");
        return Ok(());
    }
    let registry = crate::registry()?;
    let found = registry.find(&args.name);
    if found.is_empty() {
        let names = registry.all_names();
        let hint = closest(&args.name, names.iter().copied())
            .map(|b| format!("; did you mean `{b}`?"))
            .unwrap_or_default();
        bail!(
            "no component is registered as `{}`{hint} (see `snnergy list`)",
            args.name
        );
    }
    for (n, info) in found.iter().enumerate() {
        if n > 0 {
            outln!();
        }
        outln!("{} `{}` ({})", info.kind, info.name, info.origin);
        outln!("{}\n", info.summary);
        if info.params.is_empty() {
            outln!("Parameters: none\n");
        } else {
            outln!("Parameters:");
            for p in &info.params {
                let default = info
                    .defaults
                    .get(&p.name)
                    .map(|v| format!(" (default {v})"))
                    .unwrap_or_default();
                outln!("  {}{default}\n      {}", p.name, p.doc);
            }
            outln!();
        }
        outln!("Example:\n\n{}", info.example_toml());
    }
    Ok(())
}
