//! Every registered component's example configuration (what `snnergy describe` prints) parses
//! back and runs in a pipeline (vector's "generate every component" test).

use snnergy::analysis::Pipeline;
use snnergy::core::Kind;

use crate::util::{registry, repo};

/// A pipeline around one component's example, with simple defaults for the other sections;
/// `mapped`: the workload multiplies two activations, which only a mapped architecture counts.
fn pipeline_with(kind: Kind, example: &str, mapped: bool) -> String {
    // Price tables are exercised by an architecture that needs only compute and memory
    // prices, which every table has (interconnect prices are table-specific).
    let arch = if kind == Kind::EnergyModel {
        "[[architecture]]\ntype = \"tiny\"\nsram_kib = 64\n"
    } else if mapped {
        "[[architecture]]\ntype = \"classical\"\n"
    } else {
        "[[architecture]]\ntype = \"paper-v1\"\nvariant = \"spatial\"\n"
    };
    // The engine measures a network it has weights for: the shipped Fashion-MNIST one.
    let workload = if kind == Kind::Activity && example.contains("type = \"engine\"") {
        let text =
            std::fs::read_to_string(repo().join("pipelines/engine-fashion-mnist.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let mut t = toml::Table::new();
        t.insert("workload".into(), doc["workload"].clone());
        toml::to_string(&t).unwrap()
    } else {
        "[workload]\ntype = \"vgg16\"\n".to_string()
    };
    let mut sections = vec!["[analysis]\ntimesteps = [4]\nsweep_points = 3\n".to_string()];
    let defaults = [
        (Kind::Workload, workload.as_str()),
        (
            Kind::Activity,
            "[activity]\ntype = \"uniform\"\nspike_rates = [0.05]\n",
        ),
        (Kind::EnergyModel, "[energy]\ntype = \"paper-v1\"\n"),
        (Kind::Architecture, arch),
    ];
    for (k, d) in defaults {
        sections.push(if k == kind {
            example.to_string()
        } else {
            d.to_string()
        });
    }
    sections.join("\n")
}

#[test]
fn every_registered_component_example_parses_back_and_runs() {
    let reg = crate::embedding::registry_with_tiny();
    let mut ran = 0;
    for kind in [
        Kind::Workload,
        Kind::Activity,
        Kind::EnergyModel,
        Kind::Architecture,
    ] {
        for info in reg.infos(kind) {
            let example = info.example_toml();
            // Examples that refer to files do so relative to the shipped pipelines folder.
            let file = repo().join("pipelines/example.toml");
            let mut text = pipeline_with(kind, &example, false);
            let products = Pipeline::from_toml(&text, Some(&file), &reg).is_ok_and(|p| {
                p.workloads
                    .iter()
                    .any(|w| w.network.layers.iter().any(|l| l.is_product()))
            });
            if products {
                text = pipeline_with(kind, &example, true);
            }
            let report = Pipeline::from_toml(&text, Some(&file), &reg)
                .and_then(|p| p.run())
                .unwrap_or_else(|e| {
                    panic!("{kind} `{}`: {e}\n--- pipeline ---\n{text}", info.name)
                });
            assert!(!report.comparisons.is_empty(), "{kind} `{}`", info.name);
            for c in &report.comparisons {
                assert!(
                    c.snn_pj > 0.0 && c.baseline_pj > 0.0,
                    "{kind} `{}`",
                    info.name
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} components ran");
}

#[test]
fn every_parameter_a_component_serializes_is_documented() {
    let reg = registry();
    for kind in Kind::ALL {
        for info in reg.infos(kind) {
            // `name` and `energy` belong to the pipeline section, not to the component.
            let section_keys = ["name", "energy"];
            for key in info.defaults.keys().chain(info.example.keys()) {
                assert!(
                    section_keys.contains(&key.as_str())
                        || info.params.iter().any(|p| &p.name == key),
                    "{kind} `{}`: parameter `{key}` has no documentation",
                    info.name
                );
            }
            for p in &info.params {
                assert!(
                    !p.doc.trim().is_empty(),
                    "{kind} `{}`.{}",
                    info.name,
                    p.name
                );
            }
        }
    }
}

#[test]
fn every_registered_regularizer_example_builds_prepares_and_penalizes() {
    use snnergy::core::{RegularizedLayer, Regularizer, Workload};
    let reg = registry();
    let net = snnergy::models::Vgg::new(
        snnergy::models::VggDepth::Vgg16,
        snnergy::models::ModelConfig::default(),
    )
    .network()
    .unwrap();
    let infos = reg.infos(Kind::Regularizer);
    assert!(infos.len() >= 4);
    for info in infos {
        let doc: toml::Table = toml::from_str(&info.example_toml()).unwrap();
        let mut table = doc["train"]["regularizer"][0].as_table().unwrap().clone();
        table.remove("type");
        let mut r: Box<dyn Regularizer> = reg.build(&info.name, table).unwrap();
        r.prepare(&net, 6)
            .unwrap_or_else(|e| panic!("`{}` prepare: {e}", info.name));
        let layer = RegularizedLayer {
            network: &net,
            index: 3,
            timesteps: 6,
        };
        let a = vec![0.5f32; 16];
        let w = vec![0.1f32; 16];
        let mut g = vec![0.0f32; 16];
        let p = r.activation_penalty(&layer, &a, &mut g)
            + r.weight_penalty(&layer, &w, &[4, 4], &mut g);
        assert!(p.is_finite() && p > 0.0, "`{}`: penalty {p}", info.name);
    }
}
