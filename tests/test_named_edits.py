"""Named edits: InterFaceGAN++'s boundaries on FFHQ-shaped models, exact Z edits on seeds, cached W equivalents
for W / W+ latents, conditional edits, and the CLI's listing and --hold."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch
from conftest import make_tiny_generator

from editing.builtin import CELEBA_ATTRIBUTES, builtin_directions, model_directions, resolve_direction
from editing.directions import Direction, DirectionError
from editing.edit import edited_ws
from editing.w_equivalent import WEquivalents, mapping_hash, w_equivalent
from studio import workflows as wf
from studio.cli import main as cli
from stylegan_core import hub
from stylegan_core.imaging import to_uint8
from stylegan_core.seeds import z_batch

FFHQ_MAPPING = {"z_dim": 512, "w_dim": 512}  # the FFHQ models' mapping shape (8 layers, as tiny configs have)


def _ffhq_shaped(architecture: str, seed: int = 0):
    return make_tiny_generator(architecture, 32 if architecture != "stylegan3" else 16, mapping=FFHQ_MAPPING, seed=seed)


def test_every_ffhq_model_has_the_39_attributes_with_readable_names():
    for name, boundaries in [
        ("ffhq", "interfacegan-pp-sg2-ffhq"),
        ("ffhq-1024", "interfacegan-pp-sg2-ffhq"),
        ("stylegan3-t-ffhq", "interfacegan-pp-sg3t-ffhq"),
        ("stylegan1-ffhq", "interfacegan-pp-sg1-ffhq"),
    ]:
        entry = hub.REGISTRY[name]
        assert boundaries in entry.directions
        directions = model_directions(entry.directions)
        assert len(directions) >= 39 + (5 if name != "stylegan3-t-ffhq" else 0)
        attributes = {d.attribute for d in directions.values() if d.method == "interfacegan++"}
        assert attributes == set(CELEBA_ATTRIBUTES)
    assert hub.REGISTRY["ffhq"].network == hub.REGISTRY["ffhq-1024"].network  # one network, two formats
    sg2 = builtin_directions("interfacegan-pp-sg2-ffhq")
    raw = np.load(
        hub.Path(__file__).parent.parent / "editing/assets/interfacegan_pp_ffhq/stylegan2_ffhq_z/boundary_No_Beard.npy"
    )
    assert sg2["beard"].attribute == "No_Beard" and np.array_equal(sg2["beard"].vector, -raw[0])  # sign flipped
    assert sg2["blond_hair"].label == "blond hair" and sg2["blond_hair"].group == "hair"
    assert builtin_directions("interfacegan-pp-sg1-ffhq")["smile"].space == "w"
    # a name two sets share stays reachable: the second under set/name, labelled so a person can tell them apart
    ffhq = model_directions(hub.REGISTRY["ffhq"].directions)
    assert ffhq["smile"].method == "interfacegan" and ffhq["interfacegan-pp-sg2-ffhq/smile"].space == "z"
    assert ffhq["interfacegan-pp-sg2-ffhq/smile"].label == "smile (interfacegan++)"
    assert resolve_direction("interfacegan-pp-sg2-ffhq/smile").attribute == "Smiling"
    # StyleGAN3: every published pickle by name; the T FFHQ one has the boundaries
    sg3 = [e for e in hub.REGISTRY.values() if e.name.startswith("stylegan3-")]
    assert len(sg3) == 12 and all(e.file_format == "nvidia-pickle" and e.repo_id for e in sg3)
    assert hub.entry_for("/x/stylegan3-t-ffhq-1024x1024.pkl").name == "stylegan3-t-ffhq"


@pytest.mark.parametrize("architecture,boundaries", [("stylegan2", "sg2"), ("stylegan3", "sg3t"), ("stylegan1", "sg1")])
def test_a_seed_edit_is_the_hand_computation(architecture, boundaries):
    """Z boundaries: mapping(z + alpha n), then the truncation the user chose; W ones: mapping, w + alpha n, then
    truncation. z is InterFaceGAN's: the seed's normal sample scaled to norm sqrt(z_dim)."""
    G = _ffhq_shaped(architecture)
    direction = builtin_directions(f"interfacegan-pp-{boundaries}-ffhq")["eyeglasses"]
    z = z_batch([7], G.z_dim, G.device)
    z_unit = z * (math.sqrt(G.z_dim) / z.norm(dim=1, keepdim=True))
    n = torch.from_numpy(direction.vector)  # float32; a Z edit adds it to z in z's float64, as the code does
    with torch.no_grad():
        by_hand = G.mapping(z_unit + 2.5 * n.double(), None) if direction.space == "z" else G.mapping(z, None) + 2.5 * n
        by_hand = G.mapping.truncate(by_hand, 0.7)
        ours = edited_ws(G, direction, 2.5, z=z, truncation_psi=0.7)
        image = to_uint8(G.synthesis(by_hand, noise_mode="const"))[0]
    assert torch.equal(ours, by_hand)
    strip = wf.edit_strips(G, {"eyeglasses": direction}, "eyeglasses", [2.5], seeds=[7], truncation_psi=0.7)
    assert np.array_equal(strip[0].images[0], image)


def test_w_equivalents_are_deterministic_cached_reused_and_tied_to_the_weights(tmp_path):
    G = _ffhq_shaped("stylegan2")
    chosen = {k: d for k, d in list(builtin_directions("interfacegan-pp-sg2-ffhq").items())[:3]}
    first = WEquivalents(G, tmp_path, samples=200)
    converted = first.convert(chosen)
    assert first.computed == 3 and first.path.is_file() and all(d.space == "w" for d in converted.values())
    assert converted["stubble"].attribute == "5_o_Clock_Shadow"  # name, attribute and group carried over
    again = WEquivalents(G, tmp_path, samples=200)
    reused = again.convert(chosen)
    assert again.computed == 0  # read, not recomputed
    assert all(np.array_equal(reused[k].vector, converted[k].vector) for k in chosen)
    fresh = w_equivalent(G, chosen["stubble"], samples=200)
    assert np.allclose(fresh.vector, converted["stubble"].vector, atol=1e-6)  # the same numbers computed again
    # other mapping weights: another hash, another file, computed anew; the first file is refused for them
    other = _ffhq_shaped("stylegan2", seed=1)
    assert mapping_hash(other) != mapping_hash(G)
    theirs = WEquivalents(other, tmp_path, samples=200)
    assert theirs.path != first.path
    theirs.convert(chosen)
    assert theirs.computed == 3
    shutil.copy(first.path, theirs.path)
    with pytest.raises(DirectionError, match="another model"):
        WEquivalents(other, tmp_path, samples=200).convert(chosen)


def test_a_w_equivalent_moves_a_latent_the_way_the_z_edit_does():
    """On seeds, the W equivalent's displacement points the way the exact Z edit's does (cosine well above
    that of unrelated directions, which is about 0 in 512 dimensions)."""
    G = _ffhq_shaped("stylegan2")
    direction = builtin_directions("interfacegan-pp-sg2-ffhq")["smile"]
    v = w_equivalent(G, direction, samples=500)
    z = z_batch(list(range(16)), G.z_dim, G.device)
    with torch.no_grad():
        w0 = edited_ws(G, direction, 0.0, z=z)[:, 0]
        exact = edited_ws(G, direction, 2.0, z=z)[:, 0] - w0
    cosine = torch.nn.functional.cosine_similarity(exact, torch.from_numpy(v.vector)[None], dim=1)
    assert cosine.mean() > 0.2


def test_a_z_boundary_edits_a_projected_latent_through_its_w_equivalent(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path))
    G = _ffhq_shaped("stylegan2")
    directions = builtin_directions("interfacegan-pp-sg2-ffhq")
    latent = wf.Latent(np.asarray(G.mapping(z_batch([3], G.z_dim, G.device), None)), "test", "face")
    events = []
    strips = wf.edit_strips(G, directions, "age", [-2, 0, 2], latent=latent, progress=wf.Progress(events.append))
    images = strips[0].images
    assert events and events[-1].step == events[-1].total  # the W equivalent was computed, with progress
    assert np.abs(images[0].astype(int) - images[2].astype(int)).mean() > 0
    with pytest.raises(DirectionError, match="Z direction"):
        edited_ws(G, directions["age"], 1.0, ws=latent.tensor(G))  # the core never applies Z to W silently


def test_holding_removes_the_held_normals(tmp_path):
    rng = np.random.default_rng(0)
    a, b, c = (Direction(n, rng.standard_normal(16).astype(np.float32)) for n in "abc")
    held = a.holding(b, c)
    assert abs(float(held.vector @ b.vector)) < 1e-4 and abs(float(held.vector @ c.vector)) < 1e-4
    assert np.isclose(np.linalg.norm(held.vector), np.linalg.norm(a.vector))  # the strength keeps its meaning
    assert a.holding() is a
    with pytest.raises(DirectionError, match="span"):
        a.holding(a)
    with pytest.raises(DirectionError, match="same space"):
        a.holding(Direction("z", b.vector, "z"))
    # a refined per-layer direction is not its attribute's boundary: holding it projects out its `normal`
    normal = rng.standard_normal(16).astype(np.float32)
    refined = Direction("r", rng.standard_normal((4, 16)).astype(np.float32), normal=normal / np.linalg.norm(normal))
    path = refined.save(tmp_path / "r.safetensors")
    assert np.array_equal(Direction.load(path).normal, refined.normal)  # kept in the file
    by_normal = a.holding(Direction.load(path), num_ws=4)
    assert np.allclose(by_normal.vector @ refined.normal, 0, atol=1e-5)  # every layer's reading of it held
    per_layer = Direction("p", rng.standard_normal(16).astype(np.float32), layers=(1, 2))
    mixed = a.holding(per_layer, num_ws=4)  # layer ranges are compared layer by layer
    assert mixed.vector.shape == (4, 16) and abs(float((mixed.vector * per_layer.per_layer(4)).sum())) < 1e-4


def test_a_conditional_edit_leaves_the_held_attributes_reading(tmp_path):
    """On the demo model with its supervised boundaries (found with the portrait scorer): the edit of one
    attribute holding another leaves the held boundary's reading of every sample where it was, and still
    moves its own."""
    from editing.discover import supervised
    from stylegan_core import load_generator
    from training.scorer import SCORER_PATH, PortraitScorer

    G = load_generator("demo")
    scorer = PortraitScorer.load(SCORER_PATH)
    found = {d.name: d for d in supervised(G, scorer.scores, ["yaw", "lighting"], samples=400)}
    w = G.mapping(z_batch(list(range(5000, 5016)), G.z_dim, G.device), None, truncation_psi=0.7)
    directions = {"yaw": found["yaw"], "lighting": found["lighting"]}
    latent = wf.Latent(w[:1].numpy(), "demo", "face")
    plain = wf.apply_edits(G, latent, directions, [wf.DirectionEdit("yaw", 2.0)]).tensor(G)
    held = wf.apply_edits(G, latent, directions, [wf.DirectionEdit("yaw", 2.0, hold=("lighting",))]).tensor(G)
    normal = torch.from_numpy(found["lighting"].unit().vector)
    reading = lambda ws: float(ws[0, 0] @ normal)  # noqa: E731
    assert abs(reading(held) - reading(latent.tensor(G))) < 1e-4
    assert abs(reading(plain) - reading(latent.tensor(G))) > abs(reading(held) - reading(latent.tensor(G)))
    yaw = torch.from_numpy(found["yaw"].unit().vector)
    assert float((held - latent.tensor(G))[0, 0] @ yaw) > 0.5 * float((plain - latent.tensor(G))[0, 0] @ yaw)


def test_walk_holding_keeps_any_differentiable_reading_on_the_edited_layers_only():
    """editing.hold on a random generator with a made-up reader (the red and green means of the image):
    the walked edit keeps both readings, moves where the plain edit moves, and leaves the other layers alone."""
    from editing.hold import walk_holding

    G = make_tiny_generator("stylegan2", 32)
    read = lambda img: img[:, :2].mean((2, 3))  # noqa: E731  [N, 3, H, W] -> [N, 2]
    start = G.mapping(z_batch([1, 2, 3], G.z_dim), None)  # [3, num_ws, w_dim]
    step = torch.zeros_like(start)
    step[:, 2:5] = torch.randn(G.w_dim, generator=torch.Generator().manual_seed(0))
    end = start + step

    def change(ws: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return (read(G.synthesis(ws, noise_mode="const")) - read(G.synthesis(start, noise_mode="const"))).abs()

    walked = walk_holding(G, start, end, read, steps=8)
    assert change(end).mean() > 10 * change(walked).mean()
    assert torch.equal(walked[:, :2], start[:, :2]) and torch.equal(walked[:, 5:], start[:, 5:])
    moved = (walked - start).flatten(1)
    assert torch.allclose(moved.norm(dim=1), step.flatten(1).norm(dim=1), rtol=0.3)  # about as far
    assert float(torch.nn.functional.cosine_similarity(moved, step.flatten(1)).min()) > 0.5  # and the same way


@pytest.mark.parametrize("name, held", [("skin_tone", "smile"), ("smile", "mouth_open"), ("lighting", "yaw")])
def test_holding_on_the_demo_model_keeps_the_scorers_reading(name, held):
    """The demo model comes with its portrait scorer: a conditional edit of one of its shipped directions
    leaves the scorer's reading of the held attribute where it was (not only the boundary's linear reading,
    which the plain projection keeps, while the scorer's reading still moved), and still moves its own."""
    from stylegan_core import load_generator

    G = load_generator("demo")
    scorer = wf.attribute_scorer("demo", G)
    directions = wf.directions_of("demo")
    faces = wf.Latent(G.mapping(z_batch(range(7000, 7008), G.z_dim), None, truncation_psi=0.7).numpy(), "demo", "")
    read = scorer.held_readings([name, held])
    before = read(G.synthesis(faces.tensor(G), noise_mode="const"))  # [8, 2]

    def change(edit: dict, scorer=None) -> torch.Tensor:  # [2]: mean |change| of the two readings
        ws = wf.apply_edits(G, faces, directions, wf.parse_edits(edit), scorer=scorer).tensor(G)
        with torch.no_grad():
            return (read(G.synthesis(ws, noise_mode="const")) - before).abs().mean(0)

    plain = change({name: 2.0})
    linear = change({name: {"strength": 2.0, "hold": held}})
    kept = change({name: {"strength": 2.0, "hold": held}}, scorer)
    assert plain[1] > 0.05 and linear[1] > 0.05  # the held reading moves without the scorer's hold
    assert kept[1] < 0.03 and kept[1] < 0.25 * plain[1]
    assert kept[0] > 0.8 * plain[0]


def test_parse_edits_reads_dicts_json_and_text():
    assert wf.parse_edits("smile=2, age=-1") == [wf.DirectionEdit("smile", 2.0), wf.DirectionEdit("age", -1.0)]
    assert wf.parse_edits('{"age": {"strength": 1, "hold": "eyeglasses", "layers": "4-7"}}') == [
        wf.DirectionEdit("age", 1.0, "4-7", ("eyeglasses",))
    ]
    assert wf.parse_edits(None) == [] and wf.parse_edits({}) == []
    with pytest.raises(ValueError, match="name=strength"):
        wf.parse_edits("smile 2")


def test_cli_lists_in_the_app_order_and_edits_with_hold(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    assert cli(["directions", "list", "demo"]) == 0
    listing = capsys.readouterr().out
    order = [s.label for s in wf.sliders_for(wf.directions_of("demo"))]
    positions = [listing.index(f"\n  {label} ") for label in order]
    assert positions == sorted(positions)  # the page's order
    assert "expression:" in listing and "pose:" in listing
    out = tmp_path / "out"
    code = cli(
        [
            "edit",
            "--network",
            "demo",
            "--seeds",
            "1",
            "--direction",
            "yaw",
            "--hold",
            "lighting",
            "--alpha=-2,2",
            "--outdir",
            str(out),
        ]
    )
    assert code == 0 and (out / "seed0001-yaw.png").is_file()
    assert "holding lighting" in capsys.readouterr().out
    assert cli(["edit", "--network", "demo", "--seeds", "1", "--direction", "blond_hair", "--outdir", str(out)]) == 2
    assert "no direction 'blond_hair'" in capsys.readouterr().err
