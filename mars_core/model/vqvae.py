"""The order-image tokenizer: a small VQ-VAE trained from scratch (paper App. C.3.1).

Reading order: input scaling, residual block, encoder, vector quantizer, decoder, config,
model. An order image (3, 32, 32) of clipped counts becomes an 8 x 8 grid of codes
(downsampling factor 4, 64 codes per image) from a codebook of `codebook_size` entries,
and a grid of codes decodes back to an image.

* Input: x = log(1 + count) / log(1 + 100), in [0, 1]; two coordinate channels (price
  slot, volume slot in [-1, 1]) are appended at the input of the encoder and of the
  decoder, because a slot's meaning depends on where it is (cross / inside / passive
  price regions, bid / ask halves of the cancel channel) and plain convolutions are
  translation-equivariant.
* Output: the decoder predicts the log-rate of a Poisson count per pixel; `recon_loss`
  "poisson" trains it with the Poisson NLL of the counts (the likelihood of count data,
  and the decoded rate is an unbiased per-pixel count, so totals per channel come out
  right), "mse" with the squared error between log(1 + rate) and log(1 + count).
  `decode_counts` returns the rates; `decode_log1p` returns log(1 + rate).
* Quantizer: codebook updated by exponential moving averages of the assigned encoder
  outputs (no codebook gradients), commitment loss `beta * ||z - sg(e)||^2` on the
  encoder, straight-through gradients to the encoder; codes whose moving-average usage
  falls below `dead_fraction` of a uniform share are restarted at random encoder
  outputs of the current batch (with few training images, unused codes are otherwise
  never revived).

The model is deterministic at inference (`eval()`): `encode` gives code indices
(B, 8, 8) int64 and `decode_*` their image.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mars_core.model.order_images import IMAGE_SHAPE, PIXEL_CLIP

LOG_SCALE = math.log1p(PIXEL_CLIP)  # log(1 + 100): the input is log1p(count) / LOG_SCALE


def scale_input(images: torch.Tensor) -> torch.Tensor:
    """Counts (B, 3, 32, 32) (uint8 or float) to the encoder's input scale in [0, 1]."""
    return torch.log1p(images.float()) / LOG_SCALE


def coord_channels(batch: int, h: int, w: int) -> torch.Tensor:
    """(B, 2, h, w): price-slot and volume-slot coordinates in [-1, 1]."""
    ys = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(batch, 1, h, w)
    xs = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(batch, 1, h, w)
    return torch.cat([ys, xs], dim=1)


class ResBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm(x)))))), group norm, 3x3 convolutions."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, channels), channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(min(8, channels), channels)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(self.drop(F.silu(self.norm2(h))))


class Encoder(nn.Module):
    """(B, 3, 32, 32) scaled image -> (B, code_dim, 8, 8): two stride-2 convolutions, then
    residual blocks at 8x8 (where the work is cheap: 64 positions per image)."""

    def __init__(self, width: int, code_dim: int, n_res: int, dropout: float) -> None:
        super().__init__()
        c = width
        self.stem = nn.Conv2d(IMAGE_SHAPE[0] + 2, c, 3, padding=1)  # (B, c, 32, 32)
        self.down1 = nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)  # 32 -> 16
        self.down2 = nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1)  # 16 -> 8
        self.res = nn.Sequential(*(ResBlock(4 * c, dropout) for _ in range(n_res)))
        self.norm = nn.GroupNorm(min(8, 4 * c), 4 * c)
        self.out = nn.Conv2d(4 * c, code_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        h = F.silu(self.stem(torch.cat([x, coord_channels(B, H, W)], dim=1)))  # (B, c, 32, 32)
        h = F.silu(self.down1(h))  # (B, 2c, 16, 16)
        h = self.res(self.down2(h))  # (B, 4c, 8, 8)
        return self.out(F.silu(self.norm(h)))  # (B, d, 8, 8)


class Decoder(nn.Module):
    """(B, code_dim, 8, 8) quantized latents -> (B, 3, 32, 32) log-rates (mirror of the encoder)."""

    def __init__(self, width: int, code_dim: int, n_res: int, dropout: float) -> None:
        super().__init__()
        c = width
        self.inp = nn.Conv2d(code_dim + 2, 4 * c, 3, padding=1)  # (B, 4c, 8, 8)
        self.res = nn.Sequential(*(ResBlock(4 * c, dropout) for _ in range(n_res)))
        self.norm = nn.GroupNorm(min(8, 4 * c), 4 * c)
        self.up1 = nn.ConvTranspose2d(4 * c, 2 * c, 4, stride=2, padding=1)  # 8 -> 16
        self.up2 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)  # 16 -> 32
        self.out = nn.Conv2d(c + 2, IMAGE_SHAPE[0], 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        B, _, h, w = z.shape
        x = self.res(self.inp(torch.cat([z, coord_channels(B, h, w)], dim=1)))  # (B, 4c, 8, 8)
        x = F.silu(self.up1(F.silu(self.norm(x))))  # (B, 2c, 16, 16)
        x = F.silu(self.up2(x))  # (B, c, 32, 32)
        return self.out(torch.cat([x, coord_channels(B, 4 * h, 4 * w)], dim=1))  # (B, 3, 32, 32) log-rate


class VectorQuantizer(nn.Module):
    """Nearest-codeword quantization with an EMA codebook and dead-code restarts."""

    def __init__(self, codebook_size: int, code_dim: int, decay: float, dead_fraction: float) -> None:
        super().__init__()
        self.codebook_size, self.decay, self.dead_fraction = codebook_size, decay, dead_fraction
        embed = torch.randn(codebook_size, code_dim)
        self.register_buffer("embed", embed)  # (K, d) codewords
        self.register_buffer("ema_count", torch.ones(codebook_size))  # moving average of assignments per step
        self.register_buffer("ema_sum", embed.clone())  # moving average of the sum of assigned vectors
        self.register_buffer("initialised", torch.tensor(False))

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest codeword index (N,) of flat vectors z (N, d)."""
        dist = z.pow(2).sum(1, keepdim=True) - 2 * z @ self.embed.t() + self.embed.pow(2).sum(1)[None, :]  # (N, K)
        return dist.argmin(1)

    @torch.no_grad()
    def update(self, z: torch.Tensor, idx: torch.Tensor, generator: torch.Generator | None = None) -> int:
        """One EMA step of the codebook towards the vectors z (N, d) assigned to idx (N,);
        returns the number of dead codes restarted."""
        share = len(z) / self.codebook_size  # assignments per code per step if use were uniform
        if not bool(self.initialised):  # start from data: random encoder outputs
            pick = torch.randint(len(z), (self.codebook_size,), generator=generator)
            self.embed.copy_(z[pick])
            self.ema_count.fill_(share)
            self.ema_sum.copy_(z[pick] * share)
            self.initialised.fill_(True)
            idx = self.codes(z)
        onehot = F.one_hot(idx, self.codebook_size).to(z.dtype)  # (N, K)
        self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(onehot.t() @ z, alpha=1 - self.decay)
        n = self.ema_count.sum()
        count = (self.ema_count + 1e-5) / (n + self.codebook_size * 1e-5) * n  # Laplace smoothing
        self.embed.copy_(self.ema_sum / count[:, None])
        dead = torch.nonzero(self.ema_count < self.dead_fraction * share).flatten()
        if len(dead):
            pick = torch.randint(len(z), (len(dead),), generator=generator)
            self.embed[dead] = z[pick]
            self.ema_count[dead] = share
            self.ema_sum[dead] = z[pick] * share
        return len(dead)

    def forward(
        self, z: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, d, h, w) -> (straight-through quantized (B, d, h, w), codes (B, h, w), commitment term)."""
        B, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)  # (B*h*w, d)
        idx = self.codes(flat)
        if self.training:
            self.update(flat.detach(), idx, generator)
            idx = self.codes(flat)  # reassign against the updated codebook (restarted codes included)
        q = self.embed[idx].view(B, h, w, d).permute(0, 3, 1, 2)  # (B, d, h, w)
        commit = F.mse_loss(z, q.detach())
        return z + (q - z).detach(), idx.view(B, h, w), commit

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codewords (B, d, h, w) of code indices (B, h, w)."""
        return self.embed[codes].permute(0, 3, 1, 2)


@dataclass
class VQVAEConfig:
    width: int = 12  # channels at 32x32; 2x at 16x16, 4x at 8x8
    n_res: int = 2  # residual blocks at 8x8 in the encoder and in the decoder
    code_dim: int = 8  # dimension of a codeword
    codebook_size: int = 128  # number of codewords (the batch model's vocabulary)
    beta: float = 0.25  # weight of the commitment loss
    decay: float = 0.99  # EMA decay of the codebook statistics
    dead_fraction: float = 0.03  # restart a code whose moving-average use falls below this share of a uniform share
    dropout: float = 0.1  # inside residual blocks, training only
    recon_loss: str = "poisson"  # "poisson" (NLL of counts) or "mse" (on log1p counts)


class VQVAE(nn.Module):
    """Encoder, quantizer and decoder of order images; 4x downsampling to an 8x8 code grid."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        if config.recon_loss not in ("poisson", "mse"):
            raise ValueError(f"recon_loss must be 'poisson' or 'mse', was {config.recon_loss!r}")
        self.config = config
        self.encoder = Encoder(config.width, config.code_dim, config.n_res, config.dropout)
        self.quantizer = VectorQuantizer(config.codebook_size, config.code_dim, config.decay, config.dead_fraction)
        self.decoder = Decoder(config.width, config.code_dim, config.n_res, config.dropout)

    @property
    def grid(self) -> tuple[int, int]:
        """Shape of the code grid (8, 8)."""
        return IMAGE_SHAPE[1] // 4, IMAGE_SHAPE[2] // 4

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """images (B, 3, 32, 32) counts -> (log-rates (B, 3, 32, 32), codes (B, 8, 8), commitment term)."""
        z = self.encoder(scale_input(images))  # (B, d, 8, 8)
        q, codes, commit = self.quantizer(z, generator)
        return self.decoder(q), codes, commit

    def loss(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss (reconstruction + beta * commitment) of a batch of count images."""
        log_rate, codes, commit = self(images, generator)
        recon = reconstruction_loss(log_rate, images.float(), self.config.recon_loss)
        return recon + self.config.beta * commit, {"recon": recon.item(), "commit": commit.item()}

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Code grid (B, 8, 8) int64 of count images (B, 3, 32, 32)."""
        z = self.encoder(scale_input(images))
        B, d, h, w = z.shape
        return self.quantizer.codes(z.permute(0, 2, 3, 1).reshape(-1, d)).view(B, h, w)

    @torch.no_grad()
    def decode_counts(self, codes: torch.Tensor) -> torch.Tensor:
        """Expected counts (B, 3, 32, 32) float (Poisson rates, capped at PIXEL_CLIP) of code grids (B, 8, 8)."""
        return self.decoder(self.quantizer.lookup(codes)).clamp(max=math.log(PIXEL_CLIP)).exp()

    @torch.no_grad()
    def decode_log1p(self, codes: torch.Tensor) -> torch.Tensor:
        """log(1 + expected count) (B, 3, 32, 32) of code grids (B, 8, 8)."""
        return torch.log1p(self.decode_counts(codes))

    def config_dict(self) -> dict:
        return asdict(self.config)


def reconstruction_loss(log_rate: torch.Tensor, counts: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean per-pixel loss: Poisson NLL (without the log k! constant) or MSE on log1p."""
    if kind == "poisson":
        return F.poisson_nll_loss(log_rate, counts, log_input=True, full=False)
    return F.mse_loss(torch.log1p(log_rate.clamp(max=math.log(PIXEL_CLIP)).exp()), torch.log1p(counts))


@torch.no_grad()
def encode_images(model: VQVAE, images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Code grids (N, 8, 8) int64 of uint8 images (N, 3, 32, 32)."""
    model.eval()
    return (
        np.concatenate(
            [model.encode(torch.from_numpy(images[i : i + chunk])).numpy() for i in range(0, len(images), chunk)]
        )
        if len(images)
        else np.zeros((0, *model.grid), np.int64)
    )
