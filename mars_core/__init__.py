"""MarS: order-level market simulation engine (data, clearing house, simulator, order models)."""

__version__ = "0.1.0"
