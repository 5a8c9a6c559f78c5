"""The generative order model: tokenizer, transformer, batched sampler, training and baselines.

from mars_core.model import load_order_model, OrderModelSampler
lm = load_order_model()                       # the shipped checkpoint in assets/models/order_model
sampler = OrderModelSampler(lm.model, batch=64, seed=0)
sampler.prefill(tokens, lob, lob_mask, mid)   # real history, features from lm.tokenizer
token = sampler.sample()                      # (64,) next tokens
order = lm.tokenizer.decode(int(token[0]), book, rng, agents={1})
"""

from mars_core.model.order_model import KVCache, OrderModel, OrderModelConfig
from mars_core.model.sampler import OrderModelSampler, levels_mask
from mars_core.model.tokenizer import (
    ASK,
    BID,
    CANCEL,
    TOKENIZER_VERSION,
    VOCAB_SIZE,
    DecodedOrder,
    OrderTokenizer,
    RawOrders,
    day_open_mid2,
    join_token,
    raw_orders,
    split_token,
)
from mars_core.model.train import LoadedModel, TrainConfig, load_order_model, train

__all__ = [
    "ASK",
    "BID",
    "CANCEL",
    "TOKENIZER_VERSION",
    "VOCAB_SIZE",
    "DecodedOrder",
    "KVCache",
    "LoadedModel",
    "OrderModel",
    "OrderModelConfig",
    "OrderModelSampler",
    "OrderTokenizer",
    "RawOrders",
    "TrainConfig",
    "day_open_mid2",
    "join_token",
    "levels_mask",
    "load_order_model",
    "raw_orders",
    "split_token",
    "train",
]
