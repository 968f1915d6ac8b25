//! Taps on zero padding, counted by hand: one channel, a 4×4 map, a 3×3 kernel with padding 1
//! (4×4 outputs). Along each axis the outputs 0..4 reach 2, 3, 3 and 2 of the input lines, so
//! 10 × 10 = 100 of the loop nest's 16 × 9 = 144 taps fall on the map and 44 on padding.

use crate::common::*;
use DataSpace::*;
use Dim::*;
use snnergy_mapper::*;

const LOOP_TAPS: f64 = 144.0;
const VALID_TAPS: f64 = 100.0;

fn padded(mut p: Problem, steps: f64) -> Problem {
    p.valid_ops = Some(VALID_TAPS * steps);
    p.input_h = Some(4);
    p.input_w = Some(4);
    p
}

fn qnn_layer() -> Problem {
    padded(qnn("pad", 1, 1, 4, 4, 3, 3), 1.0)
}

/// Whole layer in the buffer, one output's taps in the register.
fn qnn_mapping() -> Mapping {
    Mapping {
        levels: vec![
            level("DRAM", vec![], vec![], &[Weights, Inputs, Accum, Outputs]),
            level(
                "buffer",
                vec![lp(P, 4), lp(Q, 4)],
                vec![],
                &[Weights, Inputs],
            ),
            level("reg", vec![lp(R, 3), lp(S, 3)], vec![], &[Accum]),
        ],
    }
}

fn op_count(ev: &Evaluation) -> f64 {
    ev.compute
        .iter()
        .filter(|o| o.what.starts_with("multiply-accumulate"))
        .map(|o| o.count)
        .sum()
}

fn space(ev: &Evaluation, level: usize, ds: DataSpace) -> SpaceReport {
    ev.levels[level]
        .spaces
        .iter()
        .find(|s| s.data_space == ds)
        .cloned()
        .unwrap_or_default()
}

fn qnn_at(zero: ZeroHandling, rho: f64) -> Evaluation {
    let mut hw = chip([1, 1], true, false);
    hw.compute.zero_handling = zero;
    let r = evaluate(&qnn_layer(), &hw, &qnn_mapping(), dense(), &OwnPrices).unwrap();
    r.evaluate(Densities {
        input: rho,
        output: 1.0,
        ever: None,
    })
    .unwrap()
}

#[test]
fn skipped_and_gated_zeros_include_the_taps_on_padding() {
    // At ρ = 0.5: 100 valid taps × 0.5 = 50 operations, weight reads and partial-sum updates;
    // the 44 padded taps are zeros like the other 50.
    for zero in [ZeroHandling::Skip, ZeroHandling::Gate] {
        let ev = qnn_at(zero, 0.5);
        assert_eq!(op_count(&ev), 50.0, "{zero:?}");
        assert_eq!(space(&ev, 1, Weights).reads, 50.0, "{zero:?}");
        assert_eq!(space(&ev, 2, Accum).updates, 50.0, "{zero:?}");
        // The read-modify-write reads (144 updates but the 16 first writes of each output's
        // residency) scale like the updates, plus the epilogue's 16 reads.
        let rmw = (LOOP_TAPS - 16.0) * 0.5 * VALID_TAPS / LOOP_TAPS;
        assert!(
            (space(&ev, 2, Accum).reads - (rmw + 16.0)).abs() < 1e-9,
            "{zero:?}"
        );
    }
    // Skipping saves the cycles too: 50 operations + 16 requantizations on one unit.
    assert_eq!(qnn_at(ZeroHandling::Skip, 0.5).cycles, 66.0);
    assert_eq!(qnn_at(ZeroHandling::Gate, 0.5).cycles, LOOP_TAPS + 16.0);
}

#[test]
fn units_that_neither_gate_nor_skip_pay_the_taps_on_padding() {
    let ev = qnn_at(ZeroHandling::None, 0.5);
    assert_eq!(op_count(&ev), LOOP_TAPS);
    assert_eq!(space(&ev, 1, Weights).reads, LOOP_TAPS);
    assert_eq!(space(&ev, 2, Accum).updates, LOOP_TAPS);
    assert_eq!(ev.cycles, LOOP_TAPS + 16.0);
}

#[test]
fn padding_is_not_stored_so_no_input_is_read_or_filled_for_it() {
    for zero in [ZeroHandling::Skip, ZeroHandling::Gate, ZeroHandling::None] {
        let ev = qnn_at(zero, 0.5);
        // One input operand read per valid tap, whatever the units do with zeros.
        assert_eq!(space(&ev, 1, Inputs).reads, VALID_TAPS, "{zero:?}");
        // The buffer holds the 4×4 map, not the 6×6 padded window; DRAM sends it once.
        assert_eq!(space(&ev, 1, Inputs).fills, 16.0, "{zero:?}");
        assert_eq!(space(&ev, 0, Inputs).reads, 16.0, "{zero:?}");
    }
}

#[test]
fn without_valid_taps_the_loop_nest_is_counted_over_the_padded_space() {
    let mut hw = chip([1, 1], true, false);
    hw.compute.zero_handling = ZeroHandling::Skip;
    let p = qnn("pad", 1, 1, 4, 4, 3, 3);
    let r = evaluate(&p, &hw, &qnn_mapping(), dense(), &OwnPrices).unwrap();
    let ev = r.evaluate(Densities::uniform(0.5)).unwrap();
    assert_eq!(op_count(&ev), 72.0);
    assert_eq!(space(&ev, 1, Inputs).reads, LOOP_TAPS);
    assert_eq!(space(&ev, 1, Inputs).fills, 36.0);
}

#[test]
fn more_valid_taps_than_the_loop_nest_has_is_an_error_naming_the_key() {
    let mut p = qnn_layer();
    p.valid_ops = Some(LOOP_TAPS + 1.0);
    let e = p.validate().unwrap_err().to_string();
    assert!(e.contains("valid_ops") && e.contains("pad"), "{e}");
    p.valid_ops = Some(VALID_TAPS);
    p.input_h = Some(0);
    let e = p.validate().unwrap_err().to_string();
    assert!(e.contains("input_h"), "{e}");
}

#[test]
fn an_event_driven_scatter_sends_no_event_to_padding() {
    let mut p = Problem::conv("pad", 1, 1, 4, 4, 3, 3, 1).into_snn(2, 16);
    p.weight_bits = 8;
    p = padded(p, 2.0);
    let all = [Weights, Inputs, Accum, Membrane, Outputs];
    // Per step and tap, scatter over every output.
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![], vec![], &all),
            level(
                "core",
                vec![lp(T, 2), lp(R, 3), lp(S, 3), lp(P, 4), lp(Q, 4)],
                vec![],
                &all,
            ),
        ],
    };
    // 64-bit words hold eight 8-bit weights: skipping zeros makes the weight reads
    // event-driven (scatter).
    let r = evaluate(&p, &core_chip("skip"), &m, dense(), &OwnPrices).unwrap();
    let w = r
        .counts
        .accesses
        .iter()
        .find(|a| a.level == 1 && a.data_space == Weights && a.purpose == Purpose::Operand)
        .unwrap();
    assert!(w.scatter && w.scale == Scale::Input);
    // At rate 0.1, the 16 pixels' spikes over 2 steps reach 100 valid taps per step: 20
    // synaptic events, each a weight read and a current update; none lands on padding.
    let ev = r.evaluate(Densities::uniform(0.1)).unwrap();
    let events = 0.1 * VALID_TAPS * 2.0;
    assert!((op_count(&ev) - events).abs() < 1e-9);
    assert!((space(&ev, 1, Weights).reads - events).abs() < 1e-9);
    assert!((space(&ev, 1, Accum).updates - events).abs() < 1e-9);
    // Against the padded loop nest's 288 slots × 0.1 = 28.8.
    assert!(events < 2.0 * LOOP_TAPS * 0.1);
}
