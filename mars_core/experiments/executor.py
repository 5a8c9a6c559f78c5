"""The executor of every multi-run command: `run_units(fn, units, executor, workers, on_result, stop)`.

It lives with the runner (`mars_core.sim.executor`, whose docstring describes it), which maps rollout arms with
it; experiments and their commands import it from here or from there. In short:

    from mars_core.experiments.executor import Executor, run_units
    results = run_units(evaluate_unit, units, Executor("ray", address=None), workers=None, on_result=None)

`fn` is a module-level function of one picklable unit; results come back in the order of `units` to this
process, which writes the store. `Executor("local")` is a process pool (its workers killed on a stop);
`Executor("ray")` connects to `address`, `$RAY_ADDRESS` or a new local Ray. CLI: `cli.options.ExecutorOption`
and `RayAddressOption`, turned into an `Executor` by `cli.options.executor_of`.
"""

from mars_core.sim.executor import (
    LOCAL,
    RAY_ADDRESS_ENV,
    Executor,
    ExecutorKind,
    check_ray_address,
    default_executor,
    ray_session,
    run_units,
)

__all__ = [
    "LOCAL",
    "RAY_ADDRESS_ENV",
    "Executor",
    "ExecutorKind",
    "check_ray_address",
    "default_executor",
    "ray_session",
    "run_units",
]
