"""The paper's published realism results, as data to show next to ours.

MarS (ICLR 2025), App. I.1 Table 6 and App. J Table 7. The paper's numbers
come from 11,591 simulated trajectories of the top 500 liquid stocks of the
Chinese market, 2023-03-09 to 2023-07-12; the 1-5 minute returns' accuracy
aggregates 128 rollouts per start point. Keys match
`analysis.stylized_facts.FACTS` and `analysis.similarity.METRICS`.

Table 6's check marks do not survive in the text of the paper; the values
below follow its caption and summary: "All facts are present in both
historical and simulated data, except for Gain/loss asymmetry and Leverage
effect" (App. I.1).
"""

from __future__ import annotations

import pandas as pd

PAPER = "MarS: a Financial Market Simulation Engine Powered by Generative Foundation Model (ICLR 2025)"

TABLE6: dict[str, dict[str, bool]] = {
    "absence_of_autocorrelations": {"historical": True, "simulated": True},
    "heavy_tails": {"historical": True, "simulated": True},
    "gain_loss_asymmetry": {"historical": False, "simulated": False},
    "aggregational_gaussianity": {"historical": True, "simulated": True},
    "intermittency": {"historical": True, "simulated": True},
    "volatility_clustering": {"historical": True, "simulated": True},
    "conditional_heavy_tails": {"historical": True, "simulated": True},
    "slow_decay_of_absolute_autocorrelation": {"historical": True, "simulated": True},
    "leverage_effect": {"historical": False, "simulated": False},
    "volume_volatility_correlation": {"historical": True, "simulated": True},
    "asymmetry_in_timescales": {"historical": True, "simulated": True},
}

TABLE7: dict[str, dict[str, float]] = {
    "volatility": {"similarity": 0.872, "accuracy": 0.516},
    "spread": {"similarity": 0.970, "accuracy": 0.729},
    "mean_order_volume": {"similarity": 0.957, "accuracy": 0.776},
    "aggressive_order_ratio": {"similarity": 0.920, "accuracy": 0.525},
    "buy_order_ratio": {"similarity": 0.933, "accuracy": 0.570},
    "return_1min": {"similarity": 0.956, "accuracy": 0.684},
    "return_2min": {"similarity": 0.936, "accuracy": 0.625},
    "return_3min": {"similarity": 0.924, "accuracy": 0.583},
    "return_4min": {"similarity": 0.914, "accuracy": 0.548},
    "return_5min": {"similarity": 0.908, "accuracy": 0.531},
}


def table6_frame() -> pd.DataFrame:
    """Table 6 as a DataFrame: index fact key, bool columns "historical" and "simulated"."""
    return pd.DataFrame.from_dict(TABLE6, orient="index").rename_axis("fact")


def table7_frame() -> pd.DataFrame:
    """Table 7 as a DataFrame: index metric key, float columns "similarity" and "accuracy"."""
    return pd.DataFrame.from_dict(TABLE7, orient="index").rename_axis("metric")
