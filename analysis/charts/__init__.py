"""Plotly figures, one module per subject: the market data (`market`), simulated runs (`sim`), impact studies
(`impact`), realism (`realism`, `facts`), the order model's training and generated flow (`training`, `flow`),
order images (`order_images`) and scenarios (`scenario`). Prices arrive in LOBSTER units and times in ns; the
figures convert to dollars and clock times at the edge."""
