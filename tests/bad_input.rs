//! Bad input gets a clear error naming what is wrong and where (file, line, key, layer), never
//! a panic, and never a silently wrong or zero number.

use snnergy::core::Error;

use crate::util::{repo, run_toml, scratch};

const GOOD: &str = r#"[analysis]
timesteps = [6]

[workload]
type = "vgg16"

[activity]
type = "uniform"
spike_rates = [0.05]

[energy]
type = "paper-v1"

[[architecture]]
type = "paper-v1"
variant = "spatial"
"#;

/// Runs `text` as `<scratch>/pipeline.toml` and returns the error message.
fn error_of(text: &str) -> String {
    let dir = scratch("bad-input");
    match run_toml(text, &dir, "pipeline.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` does not mention `{p}`");
    }
}

#[test]
fn the_good_pipeline_runs() {
    run_toml(GOOD, &scratch("good"), "pipeline.toml").unwrap();
}

#[test]
fn a_misspelt_key_names_file_line_and_the_likely_key() {
    let text = GOOD.replace("variant = \"spatial\"", "varient = \"spatial\"");
    let msg = error_of(&text);
    assert_mentions(
        &msg,
        &[
            "pipeline.toml:16",
            "architecture[0].varient",
            "did you mean `variant`",
        ],
    );
}

#[test]
fn an_unknown_type_lists_the_valid_ones() {
    let text = GOOD.replace("type = \"vgg16\"", "type = \"vgg61\"");
    let msg = error_of(&text);
    assert_mentions(
        &msg,
        &[
            "pipeline.toml:5",
            "workload.type",
            "unknown workload type `vgg61`",
            "vgg16",
            "resnet18",
        ],
    );
}

#[test]
fn an_unknown_section_is_named_with_its_line() {
    let msg = error_of(&format!("{GOOD}\n[architectures]\ntype = \"x\"\n"));
    assert_mentions(
        &msg,
        &[
            "unknown section `architectures`",
            "did you mean `architecture`",
        ],
    );
}

#[test]
fn a_spike_rate_outside_zero_one_is_rejected_at_its_key() {
    let msg = error_of(&GOOD.replace("[0.05]", "[0.05, 1.5]"));
    assert_mentions(
        &msg,
        &[
            "pipeline.toml:9",
            "activity.spike_rates",
            "1.5 is outside [0, 1]",
        ],
    );
}

#[test]
fn zero_time_steps_are_rejected_at_their_key() {
    let msg = error_of(&GOOD.replace("timesteps = [6]", "timesteps = [4, 0]"));
    assert_mentions(
        &msg,
        &["pipeline.toml:2", "timesteps", "at least one time step"],
    );
}

#[test]
fn a_negative_price_is_rejected_at_its_key() {
    let text = GOOD.replace(
        "[energy]\ntype = \"paper-v1\"",
        "[energy]\ntype = \"table\"\nname = \"mine\"\nnode = \"28 nm\"\ncitation = \"me\"\nadd = [{ bits = 8, pj = 0.03 }]\nmul = [{ bits = 8, pj = -0.2 }]",
    );
    let msg = error_of(&text);
    assert_mentions(&msg, &["energy.mul[0].pj", "non-negative"]);
}

#[test]
fn a_missing_profile_file_is_named() {
    let text = GOOD.replace(
        "type = \"uniform\"\nspike_rates = [0.05]",
        "type = \"profile\"\npath = \"no-such-profile.csv\"",
    );
    let msg = error_of(&text);
    assert_mentions(
        &msg,
        &["no-such-profile.csv", "cannot read activity profile"],
    );
}

#[test]
fn a_profile_naming_a_layer_the_workload_lacks_gives_file_line_and_layer() {
    let dir = scratch("bad-profile");
    std::fs::write(
        dir.join("p.csv"),
        "layer,spike_rate,nonzero\nfeatures.0,0.1,0.4\nfeatures.99,0.1,0.4\n",
    )
    .unwrap();
    let text = GOOD.replace(
        "type = \"uniform\"\nspike_rates = [0.05]",
        "type = \"profile\"\npath = \"p.csv\"",
    );
    let err = run_toml(&text, &dir, "pipeline.toml")
        .unwrap_err()
        .to_string();
    assert_mentions(&err, &["p.csv:3", "features.99", "does not have"]);
}

#[test]
fn a_profile_missing_a_neuron_layer_is_an_error_not_a_zero() {
    let dir = scratch("short-profile");
    std::fs::write(
        dir.join("p.csv"),
        "layer,spike_rate,nonzero\nfeatures.0,0.1,0.4\n",
    )
    .unwrap();
    let text = GOOD.replace(
        "type = \"uniform\"\nspike_rates = [0.05]",
        "type = \"profile\"\npath = \"p.csv\"",
    );
    let err = run_toml(&text, &dir, "pipeline.toml")
        .unwrap_err()
        .to_string();
    assert_mentions(&err, &["no entry for neuron layer", "features.3"]);
}

#[test]
fn a_workload_with_a_zero_sized_layer_is_rejected_with_the_layer() {
    let text = GOOD.replace(
        "type = \"vgg16\"",
        "type = \"custom\"\ninput = [1, 28, 28]\nlayers = [{ op = \"conv\", name = \"c1\", out = 0 }, { op = \"linear\", out = 10 }]",
    );
    let msg = error_of(&text);
    assert_mentions(&msg, &["pipeline.toml:4", "c1", "needs `out` > 0"]);
    let text = GOOD.replace("type = \"vgg16\"", "type = \"vgg16\"\ninput = [3, 0, 32]");
    let msg = error_of(&text);
    assert_mentions(&msg, &["zero dimension"]);
}

#[test]
fn prices_that_make_an_inference_free_are_an_error_not_a_zero() {
    let text = GOOD.replace(
        "[energy]\ntype = \"paper-v1\"",
        "[energy]\ntype = \"table\"\nname = \"free\"\nnode = \"-\"\ncitation = \"-\"\nadd = [{ bits = 8, pj = 0.0 }]\nmul = [{ bits = 8, pj = 0.0 }]\nsram = [{ capacity_kib = 0, bits = 8, pj = 0.0 }]\nlink = { bits = 8, pj = 0.0 }",
    );
    let msg = error_of(&text);
    assert_mentions(&msg, &["gives 0 pJ", "cannot cost nothing"]);
}

#[test]
fn an_action_no_model_can_price_is_named() {
    // The classical paper-v1 model's aggregates exist only in the paper's own table.
    let text = GOOD
        .replace("variant = \"spatial\"", "variant = \"classical\"")
        .replace(
            "type = \"paper-v1\"\n\n[[",
            "type = \"horowitz-45nm\"\n\n[[",
        );
    let msg = error_of(&text);
    assert_mentions(
        &msg,
        &[
            "horowitz-45nm",
            "paper-v1/classical-snn-synaptic-event",
            "layer `features.0`",
        ],
    );
}

#[test]
fn a_toml_syntax_error_gives_the_line() {
    let msg = error_of(&GOOD.replace("timesteps = [6]", "timesteps = [6"));
    assert_mentions(&msg, &["pipeline.toml:"]);
}

#[test]
fn a_missing_pipeline_file_is_named() {
    let path = repo().join("pipelines/does-not-exist.toml");
    let err = snnergy::analysis::Pipeline::from_file(&path, &crate::util::registry()).unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert_mentions(
        &err.to_string(),
        &["does-not-exist.toml", "cannot read pipeline"],
    );
}

#[test]
fn a_bit_width_above_32_names_its_line_and_key() {
    let msg = error_of(&GOOD.replace("timesteps = [6]", "timesteps = [6]\nweight_bits = 40"));
    assert_mentions(
        &msg,
        &[
            "pipeline.toml:3",
            "`analysis.weight_bits`",
            "outside 1..=32",
        ],
    );
}

#[test]
fn a_bad_key_inside_a_custom_layer_list_points_at_that_layer() {
    let text = GOOD.replace(
        "type = \"vgg16\"",
        "type = \"custom\"\ninput = [1, 28, 28]\nlayers = [\n  { op = \"conv\", out = 8 },\n  { op = \"linear\", out = 10, kernal = 3 },\n]",
    );
    let msg = error_of(&text);
    assert_mentions(&msg, &["pipeline.toml:9", "workload.layers[1]", "kernal"]);
}
