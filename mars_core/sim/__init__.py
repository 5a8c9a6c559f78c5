"""The simulator: the kernel (`simulator`, the agent API in `agent`, `recorder`, `bars`), the agents (`agents/`),
the run configuration and its rules (`config`), and one runner with pluggable backgrounds (`runner`,
`backgrounds`, `lockstep`, `arms`); `runs` names and lists runs under the runs root."""
