"""The agents of a simulation: backgrounds that make the market (`replay`, `noise`, `lmm`) and traders that act in
it (`twap`, `injected`). Each module implements an interface of `mars_core.sim.agent`."""
