"""The generative models: the order model (tokenizer, transformer, batched sampler), order images, the VQ-VAE,
the order-batch model and the ensemble; their checkpoints and one training loop.

Modules, lowest first: `vocab` (the token layout, numpy only), `tokenizer`, the models (`order_model`,
`vqvae`, `batch_model`, `ensemble`), `sampler` and `candidates` (drawing from them), `checkpoint` (every
loader, atomic saves), `training` (the loop) and the thin `train_*` modules, one per model.

    from mars_core.model.checkpoint import load_order_model
    from mars_core.model.sampler import OrderModelSampler
    lm = load_order_model()                       # the shipped checkpoint in assets/models/order_model
    sampler = OrderModelSampler(lm.model, batch=64, seed=0)
    sampler.prefill(tokens, lob, lob_mask, ctx)   # real history: lm.tokenizer's book context, context.py's flow
    token = sampler.sample()                      # (64,) next tokens
    order = lm.tokenizer.decode(int(token[0]), book, rng, agents={1})
"""
