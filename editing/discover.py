"""Finding directions in any model: SeFa (closed form), GANSpace (PCA of W), InterFaceGAN (supervised).

Every discovered vector is scaled to one standard deviation of the sampled ws along it, so that an
edit strength alpha means the same thing (alpha 1 = one std) for every method and model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.sampling import sample_ws

from .directions import Direction, project_off


def style_affines(G: Generator) -> list[tuple[int, Tensor]]:
    """(ws index, affine weight [C, w_dim]) of every convolution's style, in synthesis order."""
    arch, syn = G.config.architecture, G.synthesis
    out: list[tuple[int, Tensor]] = []
    if arch == "stylegan2":
        idx = 0
        for res in syn.block_resolutions:
            block = getattr(syn, f"b{res}")
            for name in ("conv0", "conv1"):
                layer = getattr(block, name, None)
                if layer is not None:
                    out.append((idx, layer.affine.weight.detach()))
                    idx += 1
    elif arch == "stylegan1":
        for k, res in enumerate(syn.block_resolutions):
            block = getattr(syn, f"b{res}")
            for j, epi in enumerate((block.epilogue0, block.epilogue1)):
                if hasattr(epi, "affine"):
                    out.append((2 * k + j, epi.affine.weight.detach()))
    else:  # stylegan3: the input uses ws[0], layer i uses ws[i + 1]
        out.append((0, syn.input.affine.weight.detach()))
        out += [(i + 1, getattr(syn, name).affine.weight.detach()) for i, name in enumerate(syn.layer_names)]
    return out


def _std_scaled(vectors: Tensor, w: Tensor) -> list[Tensor]:
    """Each unit vector [k, w_dim] times the std of the sampled ws projected on it."""
    centred = w - w.mean(dim=0, keepdim=True)
    return [v * (centred @ v).std() for v in vectors]


def _model_name(G: Generator) -> str:
    c = G.config
    return f"{c.architecture}-{c.img_resolution}px-w{c.w_dim}"


@torch.no_grad()
def sefa(G: Generator, *, layers: list[int] | None = None, k: int = 10, samples: int = 2000) -> list[Direction]:
    """Closed-form factorisation (Shen & Zhou 2021): top eigenvectors of A^T A over the style weights."""
    affines = [(i, a) for i, a in style_affines(G) if layers is None or i in layers]
    if not affines:
        raise ValueError(f"no style layers among {layers}")
    A = torch.cat([a for _, a in affines]).double()
    A = A / A.norm(dim=1, keepdim=True)
    eigvals, eigvecs = torch.linalg.eigh(A.T @ A)
    order = eigvals.argsort(descending=True)[:k]
    vectors = eigvecs[:, order].T.float()
    scaled = _std_scaled(vectors, sample_ws(G, samples))
    used = tuple(sorted({i for i, _ in affines}))
    return [
        Direction(
            f"sefa{j}",
            v.cpu().numpy(),
            "w",
            layers=used if layers is not None else None,
            model=_model_name(G),
            method="sefa",
            description=f"SeFa component {j}",
        )
        for j, v in enumerate(scaled)
    ]


@torch.no_grad()
def ganspace(G: Generator, *, k: int = 10, samples: int = 20000, seed: int = 0) -> list[Direction]:
    """GANSpace (Harkonen et al. 2020): principal components of sampled W, one std long."""
    w = sample_ws(G, samples, seed).double()
    centred = w - w.mean(dim=0, keepdim=True)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    stds = s[:k] / (samples - 1) ** 0.5
    return [
        Direction(
            f"pc{j}",
            (vh[j] * stds[j]).float().cpu().numpy(),
            "w",
            model=_model_name(G),
            method="ganspace",
            description=f"GANSpace PC {j} ({float(stds[j]):.2f} std)",
        )
        for j in range(k)
    ]


def linear_boundary(w: Tensor, scores: Tensor, *, ratio: float = 0.25, l2: float = 1e-4) -> Tensor:
    """Unit normal [w_dim] of the hyperplane separating the top from the bottom `ratio` of samples by score.

    InterFaceGAN fits a linear SVM on such extremes; we fit an L2-regularised logistic regression
    (LBFGS), whose direction tends to the same maximum-margin one on separable data.
    """
    w, scores = w.double(), scores.double()
    n = max(int(len(w) * ratio), 2)
    order = scores.argsort()
    x = torch.cat([w[order[:n]], w[order[-n:]]])
    y = torch.cat([torch.zeros(n), torch.ones(n)]).double()
    mean, std = x.mean(0), x.std(0) + 1e-8
    x = (x - mean) / std
    coef = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([coef, bias], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ coef + bias, y) + l2 * coef.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    normal = coef.detach() / std  # back to the unstandardised w space
    return (normal / normal.norm()).float()


@torch.no_grad()
def supervised(
    G: Generator,
    score: Callable[[Tensor], dict[str, np.ndarray]],  # images [N, 3, H, W] in [-1, 1] -> {attribute: [N]}
    attributes: list[str],
    *,
    samples: int = 2000,
    seed: int = 0,
    truncation_psi: float = 0.7,
    condition_on: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,  # (samples scored, samples)
) -> list[Direction]:
    """InterFaceGAN-style directions for the given attributes, from generated samples and their scores.
    With `condition_on`, every other attribute's direction is InterFaceGAN's conditional one: its boundary
    normal with the span of those attributes' normals projected out, so that its edit leaves their
    linear readings unchanged (a smile that does not turn the head)."""
    w = sample_ws(G, samples, seed)
    w_t = G.mapping.w_avg.lerp(w, truncation_psi)
    collected: dict[str, list[np.ndarray]] = {a: [] for a in [*attributes, *condition_on]}
    done = 0
    for chunk in w_t.split(64):
        out = score(G.synthesis(chunk[:, None].expand(-1, G.num_ws, -1), noise_mode="const"))
        if unknown := [a for a in collected if a not in out]:
            raise ValueError(f"the scorer does not read {', '.join(unknown)}; it reads {', '.join(out)}")
        for a in collected:
            collected[a].append(np.asarray(out[a], dtype=np.float64))
        done += len(chunk)
        if progress:
            progress(done, samples)
    normals = {a: linear_boundary(w, torch.from_numpy(np.concatenate(scores))) for a, scores in collected.items()}
    conditions = torch.stack([normals[c] for c in condition_on]) if condition_on else None  # [k, w_dim]
    directions = []
    for a in attributes:
        normal, how = normals[a], f"linear boundary on {samples} scored samples"
        if conditions is not None and a not in condition_on:
            normal, how = conditional_normal(normal, conditions), how + f", conditioned on {', '.join(condition_on)}"
        vec = _std_scaled(normal[None], w)[0]
        directions.append(
            Direction(
                a,
                vec.cpu().numpy(),
                "w",
                model=_model_name(G),
                method="interfacegan",
                description=f"{a} ({how})",
                normal=normals[a].cpu().numpy(),  # the attribute's own boundary, even when `vec` is conditioned
            )
        )
    return directions


def conditional_normal(normal: Tensor, conditions: Tensor) -> Tensor:
    """Unit `normal` [w_dim] minus its projection on the span of the rows of `conditions` [k, w_dim]
    (InterFaceGAN's conditional manipulation)."""
    free = project_off(normal.double(), conditions.double())
    if free.norm() < 1e-6:
        raise ValueError("the attribute's boundary lies in the span of the ones it is conditioned on")
    return (free / free.norm()).float()
