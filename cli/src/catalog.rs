//! `snnergy list` and `snnergy describe TYPE`.

use anyhow::bail;
use clap::Args;
use comfy_table::{Cell, Table, presets};
use snnergy::core::registry::{closest, params_of, schema_of, to_table};
use snnergy::core::{ComponentInfo, Kind, Origin};

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
    /// The type names, as in `type = "…"` (or `train` for the `[train]` section).
    #[arg(required = true)]
    names: Vec<String>,
    /// Print the JSON schema of the configuration instead.
    #[arg(long, conflicts_with = "markdown")]
    schema: bool,
    /// Print the parameters as Markdown tables (the README's are made so).
    #[arg(long)]
    markdown: bool,
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

/// The `[train]` section described like a component: its keys come from `TrainConfig`.
fn train_info() -> ComponentInfo {
    use snnergy::engine::train::TrainConfig;
    let schema = schema_of::<TrainConfig>();
    let defaults = to_table(&TrainConfig::default());
    let mut params = params_of(&schema);
    for p in &mut params {
        // Regularizers are tables of their own in the file.
        if p.name == "regularizer" {
            p.name = "[[train.regularizer]]".into();
        }
    }
    ComponentInfo {
        kind: Kind::Regularizer,
        name: "train".into(),
        summary: "trains the pipeline's workload as the QNN of its SNN, then converts it and gives the energy verdict".into(),
        params,
        schema,
        example: defaults.clone(),
        defaults,
        origin: Origin::Builtin,
    }
}

/// The parameters of a component as a Markdown table.
pub fn markdown(info: &ComponentInfo) -> String {
    let mut md = format!("`{}` ({}): {}\n\n", info.name, info.kind, info.summary);
    if info.params.is_empty() {
        md.push_str("No parameters.\n");
        return md;
    }
    md.push_str("| key | default | meaning |\n|---|---|---|\n");
    for p in &info.params {
        let default = match info.defaults.get(&p.name) {
            Some(v) => format!("`{v}`"),
            None if p.required => "required".into(),
            None => "none".into(),
        };
        md.push_str(&format!(
            "| `{}` | {default} | {} |\n",
            p.name,
            p.doc.replace('|', "\\|").replace('\n', " ")
        ));
    }
    md
}

pub fn describe(args: DescribeArgs) -> anyhow::Result<()> {
    let registry = crate::registry()?;
    let mut found: Vec<ComponentInfo> = Vec::new();
    for name in &args.names {
        // `[train]` is a pipeline section, not a registered type, but users look for its
        // keys the same way.
        if name == "train" {
            found.push(train_info());
            continue;
        }
        let of_name = registry.find(name);
        if of_name.is_empty() {
            let names = registry.all_names();
            let hint = closest(name, names.iter().copied())
                .map(|b| format!("; did you mean `{b}`?"))
                .unwrap_or_default();
            bail!("no component is registered as `{name}`{hint} (see `snnergy list`)");
        }
        found.extend(of_name.into_iter().cloned());
    }
    for (n, info) in found.iter().enumerate() {
        if n > 0 {
            outln!();
        }
        if args.schema {
            outln!("{}", serde_json::to_string_pretty(&info.schema)?);
            continue;
        }
        if args.markdown {
            out!("{}", markdown(info));
            continue;
        }
        if info.name == "train" {
            outln!("pipeline section [train] (`snnergy train PIPELINE`)");
            outln!("{}\n", info.summary);
            outln!("Keys:");
            // Its docs state their defaults in words.
            for p in &info.params {
                outln!("  {}\n      {}", p.name, p.doc);
            }
            outln!("\nExample: pipelines/train-fashion-mnist.toml");
            continue;
        }
        outln!("{} `{}` ({})", info.kind, info.name, info.origin);
        outln!("{}\n", info.summary);
        if info.params.is_empty() {
            outln!("Parameters: none\n");
        } else {
            outln!("Parameters:");
            for p in &info.params {
                let default = match info.defaults.get(&p.name) {
                    Some(v) => format!(" (default {v})"),
                    None if p.required => " (required)".into(),
                    None => String::new(),
                };
                outln!("  {}{default}\n      {}", p.name, p.doc);
            }
            outln!();
        }
        outln!("Example:\n\n{}", info.example_toml());
    }
    Ok(())
}
