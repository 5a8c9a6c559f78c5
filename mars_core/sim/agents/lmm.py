"""The generative background: the order model continues the market, order by order (paper Sec. 2.2).

After the warm-up by replay, the model is primed with the day's real orders
before the start (and the book after each). Then, in lockstep for a batch of
rollouts, one model call samples the next order of every rollout; each is
decoded against its rollout's own book (a concrete price, size, waiting time,
or a resting order to cancel), matched by the exchange together with any
injected or TWAP orders that arrived meanwhile, and the book after it is the
context of the next step: the closed loop of the clearing house.

Every rollout appends exactly one order to the model's sequence per step: the
sampled one, or, when an agent's order reached the exchange first, that order
(the sampled one is then dropped, so the model reacts to what really happened).
The random numbers of rollout r come from its own generators, seeded by the
rollout seed alone, so the treated and baseline arms of a pair draw the same
numbers (common random numbers) whatever the batch holds. Finished rollouts
leave the batch at once: the last steps, when a few long rollouts are still
running, cost what those few need.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from mars_core.data.orderflow import Action as FlowAction
from mars_core.data.orderflow import order_flow
from mars_core.data.schema import LobsterDay
from mars_core.engine import OrderKind
from mars_core.model.checkpoint import LoadedModel
from mars_core.model.context import FLOW_NS, FlowHistory, context_of
from mars_core.model.dataset import flow_context
from mars_core.model.sampler import OrderModelSampler, Parked
from mars_core.model.tokenizer import DecodedOrder, mid2_series, raw_orders
from mars_core.model.vocab import CANCEL, split_token
from mars_core.sim.agent import NEVER, Action, AgentId, Cancel, Modify, Submit
from mars_core.sim.simulator import Simulator

MAKERS = (AgentId.HISTORY, AgentId.BACKGROUND)  # whose resting orders the background may cancel


def history_context(day: LobsterDay, start_ts: int, model: LoadedModel) -> tuple[np.ndarray, ...]:
    """Tokens, binned book volumes, masks and flow context of the last `window` real orders before `start_ts`."""
    flow = order_flow(day)
    n = int(np.searchsorted(flow.ts, start_ts, side="left"))
    part = flow[max(0, n - model.model.config.window) : n]
    tok = model.tokenizer
    tokens = tok.encode(raw_orders(day, part))
    lob, mask = tok.lob_features(day.book[part.last_msg], day.info.levels, day.info.tick_size)
    first = n - len(part)
    lo = int(np.searchsorted(flow.ts, flow.ts[first] - FLOW_NS, side="right")) if len(part) else n
    ctx = flow_context(day, flow[lo:n])[first - lo :]  # with the 5 minutes of orders the first one looks back on
    return tokens, lob, mask, ctx


def flow_history(day: LobsterDay, start_ts: int) -> FlowHistory:
    """The real stream of the 5 minutes before `start_ts` (orders and the mid after every message), from which
    each rollout's flow context continues."""
    flow = order_flow(day)
    lo, hi = np.searchsorted(flow.ts, [start_ts - FLOW_NS, start_ts], side="right")
    part = flow[lo:hi]
    a, b = np.searchsorted(day.events.ts, [start_ts - FLOW_NS, start_ts], side="right")
    a = max(a - 1, 0)  # the mid as of the window's first moment
    mid2 = mid2_series(day.book[:b], day.info.tick_size)[a:]
    submit = part.action == FlowAction.SUBMIT
    return FlowHistory(part.ts.tolist(), submit.tolist(), part.qty.tolist(), day.events.ts[a:b].tolist(), mid2.tolist())


def last_quotes(sim: Simulator) -> tuple[int, int] | None:
    """The best bid and ask of a simulator's book, or None when a side is empty."""
    bid, ask = sim.book.best_bid(), sim.book.best_ask()
    return (bid, ask) if bid and ask else None


class LMMBackground:
    """Agent 1 of one rollout: sends the order the batch driver decoded for it."""

    name = "lmm"
    agent_id = AgentId.BACKGROUND
    visible_only = True  # the order model only ever saw the data's visible levels

    def __init__(self) -> None:
        self.pending: tuple[int, DecodedOrder] | None = None

    def start(self, sim: Simulator, rng: np.random.Generator) -> None:
        self.pending = None

    def next_ts(self) -> int:
        return self.pending[0] if self.pending is not None else NEVER

    def act(self, sim: Simulator) -> None:
        ts, order = self.pending
        self.pending = None
        if order.order_id >= 0:  # a cancel
            sim.exchange.cancel(ts, order.order_id, 0 if order.is_delete else order.qty)
        else:
            kind = OrderKind.IOC if order.ioc else OrderKind.LIMIT
            sim.exchange.submit(
                ts, order.side, order.price, order.qty, AgentId.BACKGROUND, kind, sim.new_order_id(AgentId.BACKGROUND)
            )


class LockstepGroup:
    """B rollouts of one arm, advanced together by one sampler (see the module docstring).

    Args:
        sims: the rollouts' simulators, each with an `LMMBackground`.
        seeds: each rollout's seed (its random numbers depend on it alone).
        model: the loaded order model.
        context: `history_context` of the start, or one per rollout (rollouts that start at different moments of
            the day, each primed with its own history: the forecaster batches many start points this way).
        temperature, top_k, top_p: sampling settings.
        use_cache: incremental decoding (False recomputes the window each step, for the benchmark).
    """

    def __init__(
        self,
        sims: list[Simulator],
        seeds: list[int],
        model: LoadedModel,
        context: tuple[np.ndarray, ...] | list[tuple[np.ndarray, ...]],
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
    ) -> None:
        self.sims = sims
        self.books = [sim.book for sim in sims]
        self.model = model
        self.tok = model.tokenizer
        self.day = sims[0].day
        self.levels = self.day.info.levels
        self.tick = self.day.info.tick_size
        B = len(sims)
        self.sampler = OrderModelSampler(
            model.model, batch=B, temperature=temperature, top_k=top_k, top_p=top_p, use_cache=use_cache
        )
        contexts = context if isinstance(context, list) else [context] * B
        self.sampler.prefill(*(np.stack(part) for part in zip(*contexts)))
        histories = {clock: flow_history(self.day, clock) for clock in {sim.clock for sim in sims}}
        self.flows = [histories[sim.clock].copy() for sim in sims]  # each rollout's stream for its flow context
        self.fed_qty = [0] * B  # size of the order each rollout fed last (0 when the model's order was not sent)
        self.draws = [np.random.default_rng([seed, 7]) for seed in seeds]  # sampling uniforms
        self.decoders = [np.random.default_rng([seed, 8]) for seed in seeds]  # decoding draws
        self.external: list[deque[int]] = [deque() for _ in sims]
        self.last_ts = [sim.clock for sim in sims]
        self.quotes = [last_quotes(sim) for sim in sims]  # each rollout's last two-sided (bid, ask)
        self.active = [True] * B
        self.rows = list(range(B))  # the rollout at each row of the sampler's batch (running ones only)
        self.held: list[tuple[list[int], Parked]] = []  # rollouts parked by `step` until `release`
        self.steps = 0  # sampler calls: the batch runs as many as its busiest rollout has orders
        self.generated = 0
        self.unmatched = 0  # tokens that decoded to no order (a cancel with nothing to delete near its slot)
        for b, sim in enumerate(sims):
            sim.on_external = functools.partial(self._external, b)

    def _external(self, b: int, ts: int, action: Action, bid: int, ask: int, resting: tuple | None) -> None:
        """An agent's accepted order in rollout b: queue its token for the model."""
        if isinstance(action, Submit):
            price = action.price if action.kind != OrderKind.MARKET else (ask if action.side > 0 else bid)
            token = self.tok.encode_order(
                False, action.side, price, action.qty, ts - self.last_ts[b], bid, ask, self.tick
            )
            qty = action.qty
        elif isinstance(action, (Cancel, Modify)) and resting is not None:
            side, price, qty = resting[0], resting[1], resting[2]
            cancelled = qty if isinstance(action, Modify) or action.qty == 0 else min(action.qty, qty)
            token = self.tok.encode_order(True, side, price, cancelled, ts - self.last_ts[b], bid, ask, self.tick)
            qty = cancelled
        else:
            return
        self.external[b].append((token, ts, qty))
        self.last_ts[b] = ts

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Next tokens (rows,) of the running rollouts at the uniforms u (rows, 3), one per factor."""
        return self.sampler.sample(uniforms=u)

    def step(self) -> None:
        """One order per running rollout: sample, decode, match (or take an agent's order), feed
        back; then drop the rollouts that reached their end from the batch, and park those that
        `_generate` held (until `release`)."""
        rows = self.rows
        self.steps += 1
        u = np.stack([self.draws[b].random(3) for b in rows])  # (rows, 3): one uniform per factor
        tokens = self.draw(u)
        fed = tokens.copy()
        held = []
        for i, b in enumerate(rows):
            if self.external[b]:
                fed[i] = self._take_external(b)
                continue
            token = self._generate(b, self.sims[b], int(tokens[i]))
            if token is None:
                held.append(i)
            else:
                fed[i] = token
        if held:
            self.held.append(([rows[i] for i in held], self.sampler.park(held)))
            go_on = [i for i in range(len(rows)) if i not in held]
            rows, fed = [rows[i] for i in go_on], fed[go_on]
            self.rows = rows
            if not rows:
                return
        lob, _ = self.tok.books_features([self.books[b] for b in rows], self.levels)
        self.sampler.feed(fed, lob, self._flow_context(rows, fed))
        running = [i for i, b in enumerate(rows) if self.active[b]]
        if len(running) < len(rows):
            self.sampler.keep(running)
            self.rows = [rows[i] for i in running]

    def release(self) -> None:
        """Put every held rollout back into the batch; each goes on exactly where it stopped."""
        for rollouts, parked in self.held:
            self.sampler.resume(parked)
            self.rows += rollouts
        self.held.clear()

    def _generate(self, b: int, sim: Simulator, token: int) -> int | None:
        """Decode rollout b's sampled token and send its order (`_send`): the token fed to the model.
        A subclass may return None instead, to hold the rollout before this order (see `step`)."""
        return self._send(b, sim, token, *self._decode(b, sim, token))

    def _decode(self, b: int, sim: Simulator, token: int) -> tuple[DecodedOrder | None, int]:
        """Rollout b's sampled token as an order against its book (None: it decodes to no order) and its time:
        its wait after the rollout's last order, but never before the exchange's clock (an agent's action the
        model does not see, e.g. a cancel of an order already filled, can move that clock past the last order)."""
        order = self.tok.decode(token, sim.book, self.decoders[b], agents=MAKERS, quotes=self.quotes[b])
        wait = order.interval_ns if order is not None else self.tok.interval.draw(int(token) % 16, self.decoders[b])
        return order, max(self.last_ts[b] + wait, sim.exchange.clock)

    def _send(self, b: int, sim: Simulator, token: int, order: DecodedOrder | None, ts: int) -> int:
        """Rollout b's decoded `order` (None: a token that decodes to no order) at `ts`, after the agents'
        events before it; the token fed to the model (an agent's order instead, if one reached the exchange first)."""
        if ts >= sim.end_ts:
            sim.advance(sim.end_ts)
            self.active[b] = False
            return token
        sim.advance(ts)  # agents' events before this order
        if self.external[b]:  # an agent got there first: the model sees its order instead
            return self._take_external(b)
        self.last_ts[b] = ts
        self.fed_qty[b] = 0
        if order is not None:
            sim.background.pending = (ts, order)
            sim.advance(ts + 1)
            self.generated += 1
            self.fed_qty[b] = order.qty
        else:
            self.unmatched += 1
        return token

    def _take_external(self, b: int) -> int:
        """The token of rollout b's oldest queued agent order (its size noted for the flow context)."""
        token, _, self.fed_qty[b] = self.external[b].popleft()
        return token

    def _flow_context(self, rows: list[int], fed: np.ndarray) -> np.ndarray:
        """(rows, N_CTX) flow context of each running rollout after the order it fed (`model/context.py`)."""
        submits = split_token(fed)[0] != CANCEL
        measures = []
        for i, b in enumerate(rows):
            flow, book = self.flows[b], self.books[b]
            bid, ask = book.best_bid(), book.best_ask()
            if bid and ask:
                self.quotes[b] = (bid, ask)
            mid2 = bid + ask if bid and ask else flow.mid2[-1]
            flow.push(self.last_ts[b], bool(submits[i] and self.fed_qty[b] > 0), self.fed_qty[b], mid2)
            measures.append(flow.measures(self.tick))
        return context_of(measures)

    def run(self) -> None:
        while self.rows:
            self.step()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` intra-op threads: the lockstep loop's small matrices run fastest on one
    thread per process (two threads wait on each other, worse on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
