"""What the impact pages and the report say about a SINDy result: its unit and an honest verdict."""

from __future__ import annotations

from analysis import impact_results as ir

SCORES = {"test_r2": 0.31, "sqrt_law_test_r2": 0.12, "test_rmse": 2e-4, "sqrt_law_test_rmse": 3e-4}


def test_a_constant_only_formula_is_given_in_basis_points() -> None:
    s = {"formula": "impact = 0.0001075", "coefficients": {"1": 0.0001075}}
    text = ir.symbolic_formula(s)
    assert text.startswith("impact = 0.0001075") and "1.07 bps of the arrival mid for every trajectory" in text
    assert "no factor term was kept" in text


def test_a_formula_with_terms_states_its_unit_and_the_constant_in_bps() -> None:
    s = {
        "formula": "impact = 0.0002 + 0.9 sqrt_q_over_v*sigma",
        "coefficients": {"1": 0.0002, "sqrt_q_over_v*sigma": 0.9},
    }
    assert ir.symbolic_formula(s).splitlines()[1] == (
        "(impact as a fraction of the arrival mid; the constant 0.0002 = 2.00 bps)"
    )


def test_the_model_with_the_lower_held_out_error_predicts_better() -> None:
    assert "the **SINDy formula** predicts better" in ir.symbolic_verdict(SCORES)
    worse = SCORES | {"test_rmse": 4e-4}
    assert "the **square-root law** predicts better" in ir.symbolic_verdict(worse)


def test_neither_predicts_better_when_both_held_out_r2_are_negative() -> None:
    verdict = ir.symbolic_verdict(SCORES | {"test_r2": -0.04, "sqrt_law_test_r2": -0.35})
    assert "predicts better." not in verdict and "neither predicts better than their mean impact" in verdict
    assert "-0.04 for SINDy, -0.35 for the square-root law" in verdict
