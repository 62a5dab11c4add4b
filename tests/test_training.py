"""Dataset tool and trainer: bad inputs, a CPU smoke run in one and two processes, resume, transfer."""

from __future__ import annotations

import json
import os
import shutil
from collections import namedtuple
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from stylegan_core.formats import CheckpointError, load_checkpoint
from training.dataset_tool import (
    DatasetError,
    load_dataset_arrays,
    load_dataset_labels,
    make_dataset,
    render_portrait_dataset,
)
from training.discriminator import (
    Discriminator,
    DiscriminatorConfig,
    eye_patches,
    local_patch_size,
    mouth_patches,
)
from training.portraits import FACTOR_NAMES, LEFT_EYE, MOUTH, RIGHT_EYE, render
from training.snapshots import STATE_FILE, STATE_JSON, latest_snapshot, read_log, save_snapshot
from training.trainer import (
    TrainingError,
    TrainOptions,
    discriminator_config,
    generator_config,
    make_augment,
    train,
)
from training.widen import widen_snapshot


def _photo(seed: int, size=(40, 30)) -> Image.Image:
    rng = np.random.RandomState(seed)
    return Image.fromarray(rng.randint(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def test_dataset_tool_converts_or_skips_every_kind_of_input(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    _photo(0).save(src / "a_rgb.jpg", quality=95)
    _photo(1).convert("L").save(src / "b_grey.png")
    Image.fromarray((np.arange(40 * 40).reshape(40, 40) * 40).astype(np.uint16)).save(src / "c_16bit.png")
    _photo(2).convert("RGBA").save(src / "d_rgba.png")
    (src / "e_text.jpg").write_text("not an image")
    _photo(3, (4, 4)).save(src / "f_tiny.png")
    (src / "g_copy.png").write_bytes((src / "b_grey.png").read_bytes())
    (src / "h_truncated.jpg").write_bytes((src / "a_rgb.jpg").read_bytes()[:300])
    report = make_dataset(src, tmp_path / "out.zip", resolution=16)
    skipped = dict(report.skipped)
    assert report.written == 4
    assert "not an image" in skipped["e_text.jpg"]
    assert "too small" in skipped["f_tiny.png"]
    assert "duplicate of b_grey.png" in skipped["g_copy.png"]
    assert "truncated" in skipped["h_truncated.jpg"] or "not an image" in skipped["h_truncated.jpg"]
    images, _, _ = load_dataset_arrays(tmp_path / "out.zip")
    assert images.shape == (4, 3, 16, 16) and images.dtype == np.uint8
    first_two = make_dataset(src, tmp_path / "two.zip", resolution=16, max_images=2)
    assert first_two.written == 2 and np.array_equal(load_dataset_arrays(tmp_path / "two.zip")[0], images[:2])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no images"):
        make_dataset(empty, tmp_path / "x.zip")
    with pytest.raises(DatasetError, match="power of two"):
        make_dataset(src, tmp_path / "x.zip", resolution=48)
    with pytest.raises(DatasetError, match="max-images"):
        make_dataset(src, tmp_path / "x.zip", max_images=0)


def test_dataset_tool_aligns_every_face_like_ffhq(photos, tmp_path):
    """--align-faces: each face of a group photo is its own image (labels follow), no face is a skip."""
    import shutil
    import zipfile

    from editing.align import align_face
    from stylegan_core.imaging import read_image

    src = tmp_path / "photos"
    src.mkdir()
    for name in ("obama.jpg", "two_people.jpg", "no_face.png"):
        shutil.copy(photos / name, src / name)
    (src / "dataset.json").write_text(
        json.dumps({"labels": [["obama.jpg", 0], ["two_people.jpg", 1], ["no_face.png", 2]]})
    )
    report = make_dataset(src, tmp_path / "faces.zip", resolution=32, align_faces=True)
    assert report.written == 3 and report.several_faces == [("two_people.jpg", 2)]
    assert [name for name, _ in report.skipped] == ["no_face.png"] and "no face" in report.skipped[0][1]
    images, _, _ = load_dataset_arrays(tmp_path / "faces.zip")
    assert images.shape == (3, 3, 32, 32)
    with zipfile.ZipFile(tmp_path / "faces.zip") as z:
        labels = [label for _, label in json.loads(z.read("dataset.json"))["labels"]]
    assert labels == [0, 1, 1]  # sorted names: obama, two_people's two faces
    expected = np.asarray(align_face(read_image(photos / "obama.jpg"), size=32).image).transpose(2, 0, 1)
    assert np.array_equal(images[0], expected)
    assert not np.array_equal(images[1], images[2])
    capped = make_dataset(src, tmp_path / "two.zip", resolution=32, align_faces=True, max_images=2)
    assert capped.written == 2 and np.array_equal(load_dataset_arrays(tmp_path / "two.zip")[0], images[:2])
    with pytest.raises(DatasetError, match="--align-faces: the aligned size must be 16 to 4096 px, got 8"):
        make_dataset(src, tmp_path / "tiny.zip", resolution=8, align_faces=True)  # every photo would be skipped
    assert not (tmp_path / "tiny.zip").exists()


def test_portraits_are_deterministic_and_labelled(tmp_path):
    a, fa = render(7)
    b, fb = render(7)
    assert np.array_equal(np.asarray(a), np.asarray(b)) and fa == fb
    assert a.size == (64, 64) and render(7, 128)[0].size == (128, 128)
    path = render_portrait_dataset(tmp_path / "p.zip", 6, resolution=32)
    images, factors, names = load_dataset_arrays(path)
    assert images.shape == (6, 3, 32, 32) and factors.shape == (6, len(FACTOR_NAMES)) and names == list(FACTOR_NAMES)
    np.testing.assert_allclose(factors[2], render(2)[1].as_vector(), rtol=1e-6)
    parallel = render_portrait_dataset(tmp_path / "p2.zip", 6, resolution=32, workers=2)
    assert parallel.read_bytes() == path.read_bytes()  # the same zip from two processes, timestamps included
    with pytest.raises(DatasetError, match="power of two"):
        render_portrait_dataset(tmp_path / "p96.zip", 2, resolution=96)  # StyleGAN could not train on it
    with pytest.raises(DatasetError, match="at least 1"):
        render_portrait_dataset(tmp_path / "none.zip", 0)
    assert not (tmp_path / "p96.zip").exists() and not (tmp_path / "none.zip").exists()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return render_portrait_dataset(tmp_path_factory.mktemp("data") / "p16.zip", 16, resolution=16)


def _opts(data, outdir, **kw) -> TrainOptions:
    base = dict(batch=4, kimg=0.008, tick_kimg=0.004, snap=1, sample_seeds=4, metrics=["swd"], seed=1)
    base.update(kw)
    return TrainOptions(data=str(data), outdir=str(outdir), **base)


def test_train_resume_and_load(tiny_data, tmp_path):
    run = train(_opts(tiny_data, tmp_path / "run"))
    log = read_log(run)
    assert [r["kimg"] for r in log] == [0.004, 0.008]
    assert all(np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"]) for r in log)
    assert "swd_mean" in log[-1] and (run / "samples-000000.008.png").is_file()
    snap = latest_snapshot(run)
    assert snap is not None and snap.name == "network-snapshot-000000.008"
    G = load_checkpoint(snap)  # the snapshot is a normal native model
    assert G(torch.randn(2, G.z_dim)).shape == (2, 3, 16, 16)
    shutil.copytree(snap, run / "network-snapshot-000009.000.partial")  # cut off while written: never loaded
    (run / "network-snapshot-000009.000.partial" / "model.safetensors").write_bytes(b"")
    by_run = load_checkpoint(run).state_dict()  # the run directory: its newest snapshot
    assert all(torch.equal(v, by_run[k]) for k, v in G.state_dict().items())
    with pytest.raises(CheckpointError, match="snapshots"):
        load_checkpoint(tmp_path)  # a folder with neither a model nor snapshots
    before = {k: v.clone() for k, v in G.state_dict().items()}
    log_text = (run / "log.jsonl").read_text()
    with pytest.raises(TrainingError, match="already holds a training run"):  # a fresh run on top of this one
        train(_opts(tiny_data, tmp_path / "run", kimg=0.012))
    assert (run / "log.jsonl").read_text() == log_text
    train(_opts(tiny_data, tmp_path / "run", kimg=0.012, resume=str(run)))
    log = read_log(run)
    assert log[-1]["kimg"] == 0.012 and log[-1]["tick"] == 3  # counters continued, not restarted
    after = load_checkpoint(latest_snapshot(run)).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    shutil.rmtree(latest_snapshot(run))  # killed at 0.012 kimg, after the tick's log line, before its snapshot
    train(_opts(tiny_data, tmp_path / "run", kimg=0.012, resume=str(run), metrics=[]))
    assert [r["tick"] for r in read_log(run)] == [1, 2, 3]  # tick 3 retrained and logged once, not twice


def test_a_run_directory_serves_its_newest_snapshot_in_the_app(tmp_path):
    """The app's model cache takes a run directory and follows it as new snapshots land."""
    from studio.workflows import ModelCache
    from stylegan_core import Generator

    run = tmp_path / "run"
    for i, kimg in enumerate(("000004.000", "000008.000")):
        torch.manual_seed(i)
        Generator(generator_config("demo", 16, 3)).save_pretrained(run / f"network-snapshot-{kimg}")
    cache = ModelCache()
    first = cache.get(str(run))
    expected = load_checkpoint(run / "network-snapshot-000008.000").state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in first.state_dict().items())
    assert cache.get(str(run)) is first
    torch.manual_seed(2)
    Generator(generator_config("demo", 16, 3)).save_pretrained(run / "network-snapshot-000012.000")
    newer = cache.get(str(run))
    expected = load_checkpoint(run / "network-snapshot-000012.000").state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in newer.state_dict().items())
    assert len(cache.directions(str(run))) == 8  # SeFa of the newest snapshot


def test_a_public_app_opens_only_the_files_its_operator_chose(tmp_path):
    """With local paths off (a public Space) a visitor's path is an unknown model; the operator's default run and
    the bundled demo still load."""
    from studio.workflows import ModelCache
    from stylegan_core import Generator
    from stylegan_core.hub import UnknownModelError

    run, other = tmp_path / "run", tmp_path / "other"
    for folder in (run, other):
        Generator(generator_config("demo", 16, 3)).save_pretrained(folder / "network-snapshot-000004.000")
    cache = ModelCache(allow_local=False)
    with pytest.raises(UnknownModelError, match="opens no files on its server"):
        cache.get(str(other))
    with pytest.raises(UnknownModelError, match="opens no files"):
        cache.get(str(other / "network-snapshot-000004.000"))
    assert cache.get("demo").img_resolution == 64
    cache.trust(str(run))
    assert cache.get(str(run)).img_resolution == 16
    assert len(cache.directions(str(run))) == 8


@pytest.mark.parametrize(
    "bad, flag",
    [
        ({"batch": 0}, "--batch"),
        ({"batch": 3, "gpus": 2}, "divisible"),
        ({"gpus": 0}, "--gpus"),
        ({"snap": 0}, "--snap"),
        ({"tick_kimg": 0}, "--tick"),
        ({"gamma": -1}, "--gamma"),
        ({"lr": -1}, "--lr"),
        ({"dlr": -0.1}, "--dlr"),
        ({"pl_weight": -1}, "--pl-weight"),
        ({"ada_target": 1.5}, "--target"),
        ({"freeze_d": -1}, "--freezed"),
        ({"cbase": 0}, "--cbase"),
        ({"map_depth": 0}, "--map"),
        ({"cbase": 8}, "no channels at 16 px"),
        ({"cbase": 1024, "resume": "demo"}, "fresh run"),
        ({"metrics": ["kid50k_full"]}, "fid50k_full and the like"),
    ],
)
def test_options_no_run_can_use_are_refused_before_it_starts(tiny_data, tmp_path, bad, flag):
    with pytest.raises(TrainingError, match=flag):
        train(_opts(tiny_data, tmp_path / "run", **bad))
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_run_cut_off_before_its_first_snapshot_starts_again(tiny_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text(json.dumps({"tick": 1, "kimg": 0.004, "stale": True}) + "\n")  # nothing to resume
    train(_opts(tiny_data, run, kimg=0.008, metrics=[]))
    log = read_log(run)
    assert [r["tick"] for r in log] == [1, 2] and not any("stale" in r for r in log)


def test_same_seed_same_weights(tiny_data, tmp_path):
    a = train(_opts(tiny_data, tmp_path / "a", kimg=0.004, metrics=[]))
    b = train(_opts(tiny_data, tmp_path / "b", kimg=0.004, metrics=[]))
    sa, sb = (load_checkpoint(latest_snapshot(r)).state_dict() for r in (a, b))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_bfloat16_mixed_precision_trains_with_float32_weights_and_logits(tiny_data, tmp_path):
    run = train(_opts(tiny_data, tmp_path / "bf16", kimg=0.008, metrics=[], precision="bf16"))
    log = read_log(run)
    assert {"loss_G", "loss_D", "loss_r1", "loss_pl"} <= set(log[0])  # the regularisers ran in bf16 too
    assert all(np.isfinite(v) for r in log for k, v in r.items() if k.startswith("loss_"))
    G = load_checkpoint(latest_snapshot(run))
    assert all(v.dtype == torch.float32 for v in G.state_dict().values())
    fp32 = load_checkpoint(latest_snapshot(train(_opts(tiny_data, tmp_path / "fp32", kimg=0.008, metrics=[]))))
    assert any(not torch.equal(v, fp32.state_dict()[k]) for k, v in G.state_dict().items())  # bf16 really ran
    D = Discriminator(discriminator_config("demo", 16, 3))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mapping and D's epilogue stay float32, as officially
        assert G.mapping(torch.randn(2, G.z_dim)).dtype == torch.float32
        assert D(G(torch.randn(2, G.z_dim))).dtype == torch.float32
    with pytest.raises(TrainingError, match="precision"):
        train(_opts(tiny_data, tmp_path / "bad", precision="fp16"))


def test_transfer_from_a_generator_alone_warms_up_a_fresh_discriminator(tiny_data, tmp_path):
    from stylegan_core import Generator

    torch.manual_seed(3)
    source = Generator(generator_config("demo", 16, 3))
    source.save_pretrained(tmp_path / "g_only")  # weights only: no discriminator, no optimiser state
    run = train(
        _opts(tiny_data, tmp_path / "tl", kimg=0.008, metrics=[], resume=str(tmp_path / "g_only"), d_warmup_kimg=0.004)
    )
    log = read_log(run)
    assert "loss_G" not in log[0] and "loss_D" in log[0]  # the first tick trains D alone
    assert log[0]["pl_mean"] > 0  # the path-length mean starts at the trained G's, not at 0
    assert "loss_G" in log[1]
    first, last = sorted(run.glob("network-snapshot-*"))
    frozen = dict(load_checkpoint(first).named_parameters())
    assert all(torch.equal(p, frozen[n]) for n, p in source.named_parameters())
    trained = dict(load_checkpoint(last).named_parameters())
    assert any(not torch.equal(p, trained[n]) for n, p in source.named_parameters())
    # No EMA ramp-up on transfer: G_ema moved by ~0.2% of G's step, not all of it (as a fresh run's would).
    raw = load_file(str(last / STATE_FILE))
    start = {n: p.detach() for n, p in source.named_parameters()}
    step = sum(float((raw[f"G.{n}"] - p).norm()) for n, p in start.items())
    ema_step = sum(float((trained[n] - p).norm()) for n, p in start.items())
    assert 0 < ema_step < 0.02 * step
    assert json.loads((last / STATE_JSON).read_text())["transfer"] is True
    assert make_augment(_opts(tiny_data, tmp_path), 0.0, transfer=True).speed_kimg == 100  # as officially
    assert make_augment(_opts(tiny_data, tmp_path), 0.0, transfer=False).speed_kimg == 500
    with pytest.raises(TrainingError, match="warmup"):
        train(_opts(tiny_data, tmp_path / "bad", d_warmup_kimg=-1))
    with pytest.raises(TrainingError, match="makes 64px"):  # a model name resolves: the bundled 64 px demo model
        train(_opts(tiny_data, tmp_path / "bad", resume="demo"))
    with pytest.raises(TrainingError, match="unknown model 'no-such-model'"):
        train(_opts(tiny_data, tmp_path / "bad", resume="no-such-model"))


def test_separate_learning_rates_and_the_discriminators_scores_in_the_log(tiny_data, tmp_path):
    from stylegan_core import Generator

    torch.manual_seed(4)
    source = Generator(generator_config("demo", 16, 3))
    source.save_pretrained(tmp_path / "g_only")
    run = train(
        _opts(tiny_data, tmp_path / "glr0", kimg=0.008, metrics=[], resume=str(tmp_path / "g_only"), glr=0.0, dlr=0.002)
    )
    log = read_log(run)
    assert all(np.isfinite(r["score_real"]) and np.isfinite(r["score_fake"]) for r in log)
    assert "loss_G" in log[0]  # G's phase ran, with a learning rate of 0
    trained = dict(load_checkpoint(latest_snapshot(run)).named_parameters())
    assert all(torch.equal(p, trained[n]) for n, p in source.named_parameters())


def test_freeze_d_keeps_the_first_discriminator_layers_of_a_resumed_run(tiny_data, tmp_path):
    """--freezed N (Freeze-D): D's first N layers from the image keep their loaded weights, the rest train."""
    run = train(_opts(tiny_data, tmp_path / "run", kimg=0.004, metrics=[]))
    layers = Discriminator(discriminator_config("demo", 16, 3)).layers_from_image()
    assert len(layers) == 4 + 3  # 16 px: b16 (fromrgb, conv0, conv1, skip), b8 (conv0, conv1, skip)
    before = load_file(str(latest_snapshot(run) / STATE_FILE))
    train(_opts(tiny_data, tmp_path / "run", kimg=0.012, resume=str(run), metrics=[], freeze_d=5))
    after = load_file(str(latest_snapshot(run) / STATE_FILE))
    frozen = ("D.b16.", "D.b8.conv0.")  # the first 5 layers
    d_weights = [k for k in before if k.startswith("D.") and k.endswith((".weight", ".bias"))]
    assert all(torch.equal(before[k], after[k]) for k in d_weights if k.startswith(frozen))
    assert all(not torch.equal(before[k], after[k]) for k in d_weights if not k.startswith(frozen))
    assert not any(k.startswith(("opt_D.b16.", "opt_D.b8.conv0.")) for k in after)  # no Adam moments for them
    with pytest.raises(TrainingError, match="freezed 8: this discriminator has 7 layers"):
        train(_opts(tiny_data, tmp_path / "bad", freeze_d=8))


def test_the_train_command_passes_the_official_flags(tiny_data, tmp_path, capsys, monkeypatch):
    from studio.cli import build_parser, main

    common = [
        "train",
        "--data",
        str(tiny_data),
        "--batch",
        "4",
        "--kimg",
        "0.004",
        "--tick",
        "0.004",
        "--metrics",
        "none",
        "--seed",
        "2",
    ]
    assert (
        main(
            [
                *common,
                "--outdir",
                str(tmp_path / "run"),
                "--target",
                "0.5",
                "--freezed",
                "3",
                "--mirror",
                "--cbase",
                "1024",
                "--cmax",
                "32",
                "--map",
                "2",
            ]
        )
        == 0
    )
    options = json.loads((tmp_path / "run" / "options.json").read_text())
    assert (options["ada_target"], options["freeze_d"], options["mirror"]) == (0.5, 3, True)
    G = load_checkpoint(tmp_path / "run")
    synthesis = G.config.synthesis
    assert (synthesis.channel_base, synthesis.channel_max, G.config.mapping.num_layers) == (1024, 32, 2)
    for spelling, mirror in ((["--mirror=1"], True), (["--mirror", "0"], False), (["--mirror", "--cond"], True)):
        args = build_parser().parse_args([*common, "--outdir", "x", *spelling])  # the official train.py's spellings
        assert args.mirror is mirror
    assert args.cond is True
    out = capsys.readouterr().out
    assert "tick 1  kimg 0.004  sec/kimg " in out and "-> network-snapshot-000000.004" in out  # a line per tick
    assert main([*common, "--outdir", str(tmp_path / "bad"), "--freezed", "99"]) == 2
    assert "--freezed 99: this discriminator has 7 layers" in capsys.readouterr().err

    def interrupted(opts):
        raise KeyboardInterrupt  # Ctrl-C

    monkeypatch.setattr("studio.workflows.train.train", interrupted)  # the trainer the workflow calls
    assert main([*common, "--outdir", str(tmp_path / "run"), "--resume", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert "network-snapshot-000000.004, is intact" in err and f"--resume {tmp_path / 'run'}" in err


def test_the_committed_demo_run_state_resumes(tmp_path):
    """demo_run/ holds the demo model's training state (G, D, optimisers): later sessions continue from it."""
    data64 = render_portrait_dataset(tmp_path / "p64.zip", 4, resolution=64)
    state = Path(__file__).resolve().parent.parent / "demo_run"
    counters = json.loads((latest_snapshot(state) / STATE_JSON).read_text())
    start = counters["cur_nimg"] / 1000
    run = train(
        _opts(
            data64,
            tmp_path / "cont",
            resume=str(state),
            kimg=start + 0.004,
            tick_kimg=0.004,
            metrics=[],
            cfg="demo",
            aug="noaug",
            glr=counters["options"]["glr"],
        )
    )
    log = read_log(run)
    assert log[0]["kimg"] == pytest.approx(start + 0.004) and {"loss_G", "loss_D"} <= set(log[0])  # D warm, no warm-up
    assert json.loads((latest_snapshot(run) / STATE_JSON).read_text())["transfer"] is True


def test_conditional_training_on_dataset_labels(tiny_data, tmp_path):
    """--cond: class labels from dataset.json condition G's mapping and D's projection; resumes; generates by class."""
    from stylegan_core.sampling import generate_from_seeds

    src = tmp_path / "labelled"
    src.mkdir()
    for i in range(8):
        _photo(i, (16, 16)).save(src / f"{i}.png")
    (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i % 3] for i in range(8)]}))
    data = tmp_path / "classes.zip"
    make_dataset(src, data, resolution=16)
    labels = load_dataset_labels(data)  # the dataset tool carried them; classes become one-hot
    assert labels.shape == (8, 3) and labels.sum(1).tolist() == [1.0] * 8 and labels[:, 1].sum() == 3

    run = train(_opts(data, tmp_path / "cond", cond=True, metrics=["swd"]))
    assert "swd_mean" in read_log(run)[-1]
    snap = latest_snapshot(run)
    G = load_checkpoint(snap)
    assert G.c_dim == 3
    by_class = generate_from_seeds(G, [5], class_idx=0), generate_from_seeds(G, [5], class_idx=2)
    assert not np.array_equal(*by_class)  # same seed, another class, another image
    counters = json.loads((snap / STATE_JSON).read_text())
    D = Discriminator(DiscriminatorConfig(**counters["D_config"]))
    state = load_file(str(snap / STATE_FILE))
    D.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("D.")})
    img = torch.randn(3, 3, 16, 16)
    logits = D(img, torch.eye(3))
    assert logits.shape == (3, 1) and len(set(logits.flatten().tolist())) == 3  # the label moves the score
    with pytest.raises(ValueError, match="conditional"):
        D(img)

    train(_opts(data, tmp_path / "cond", cond=True, kimg=0.012, resume=str(run), metrics=[]))
    assert read_log(run)[-1]["kimg"] == 0.012
    with pytest.raises(TrainingError, match="conditional on 3 label values but this run is unconditional"):
        train(_opts(data, tmp_path / "uncond", resume=str(run)))
    with pytest.raises(DatasetError, match="needs a label for every image"):
        train(_opts(tiny_data, tmp_path / "nolabels", cond=True))  # portraits carry factors, not labels


def test_conditional_transfer_from_an_official_generator(reference, tmp_path):
    """--cond --resume an official conditional G (5 classes): it trains on a 5-class dataset, not on 3."""
    src = tmp_path / "five"
    src.mkdir()
    for i in range(10):
        _photo(i, (32, 32)).save(src / f"{i}.png")
    for classes in (5, 3):
        (src / "dataset.json").write_text(json.dumps({"labels": [[f"{i}.png", i % classes] for i in range(10)]}))
        make_dataset(src, tmp_path / f"c{classes}.zip", resolution=32)
    official = str(reference / "nv_sg2_32_cond.safetensors")
    run = train(_opts(tmp_path / "c5.zip", tmp_path / "tl", cond=True, resume=official, metrics=[], kimg=0.004))
    G = load_checkpoint(latest_snapshot(run))
    assert G.c_dim == 5 and G.z_dim == 64  # the official G's shape, not --cfg's
    with pytest.raises(TrainingError, match="conditional on 5 label values but this run is conditional on 3"):
        train(_opts(tmp_path / "c3.zip", tmp_path / "bad", cond=True, resume=official))


def test_two_processes_over_gloo(tiny_data, tmp_path):
    run = train(_opts(tiny_data, tmp_path / "ddp", kimg=0.008, gpus=2, metrics=[]))
    log = read_log(run)
    assert log[-1]["kimg"] == 0.008
    G = load_checkpoint(latest_snapshot(run))
    assert torch.isfinite(G(torch.randn(2, G.z_dim))).all()
    # An error only the processes can find (they build the networks) comes back as itself, not as a traceback.
    with pytest.raises(TrainingError, match="freezed 8: this discriminator has 7 layers"):
        train(_opts(tiny_data, tmp_path / "bad", gpus=2, freeze_d=8))


def test_torchrun_starts_the_processes(tiny_data, tmp_path):
    """`torchrun --nproc_per_node 2 -m studio train ...`: each process reads its rank from torchrun's
    environment; one run comes out and one process speaks."""
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "studio",
        "train",
        "--data",
        str(tiny_data),
        "--outdir",
        str(tmp_path / "run"),
        "--batch",
        "8",
        "--kimg",
        "0.016",
        "--tick",
        "0.008",
        "--snap",
        "1",
        "--metrics",
        "none",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["kimg"] for r in read_log(tmp_path / "run")] == [0.008, 0.016]
    assert done.stdout.count("done: snapshots") == 1
    G = load_checkpoint(latest_snapshot(tmp_path / "run"))
    assert torch.isfinite(G(torch.randn(2, G.z_dim))).all()


def test_transfer_from_official_snapshot_and_incompatible_resume(reference, tmp_path):
    data64 = render_portrait_dataset(tmp_path / "p64.zip", 4, resolution=64)
    run = train(
        _opts(data64, tmp_path / "tl", kimg=0.004, metrics=[], resume=str(reference / "nv_sg2_64_snapshot.pkl"))
    )
    options = json.loads((run / "options.json").read_text())
    assert options["D_config"]["channel_max"] == 32  # D came from the snapshot, not from --cfg
    tiny = render_portrait_dataset(tmp_path / "p16.zip", 4, resolution=16)
    with pytest.raises(TrainingError, match="64px.*16px"):
        train(_opts(tiny, tmp_path / "bad", resume=str(reference / "nv_sg2_64_snapshot.pkl")))
    odd = tmp_path / "odd"
    odd.mkdir()
    for i in range(2):
        _photo(i, (24, 24)).save(odd / f"{i}.png")
    with pytest.raises(DatasetError, match="power-of-two"):
        train(_opts(odd, tmp_path / "bad2"))


def test_full_disk_is_a_clear_error_and_keeps_older_snapshots(tiny_data, tmp_path, monkeypatch):
    run = train(_opts(tiny_data, tmp_path / "run", kimg=0.004, metrics=[]))
    snap = latest_snapshot(run)
    import training.snapshots as snapshots

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(snapshots.shutil, "disk_usage", lambda _: usage(1, 1, 10))
    G = load_checkpoint(snap)
    with pytest.raises(TrainingError, match="disk space"):
        save_snapshot(Path(run), 1.0, {"G_ema": G}, {}, {})
    assert (snap / STATE_FILE).is_file() and latest_snapshot(run) == snap


def test_widening_a_run_keeps_what_its_networks_compute_and_training_goes_on(tiny_data, tmp_path, monkeypatch, capsys):
    import training.trainer as trainer
    from stylegan_core.config import GeneratorConfig

    monkeypatch.setitem(trainer.CONFIGS, "narrow", (512, 64, 32, 2))  # 32 channels at 16 px, 64 below
    run = train(_opts(tiny_data, tmp_path / "narrow", cfg="narrow", kimg=0.004, metrics=[], eye_pack=2))
    wide = widen_snapshot(run, tmp_path / "wide", channel_base=1024)  # the eye critics come along, as they are
    counters = json.loads((wide / STATE_JSON).read_text())
    assert counters["D_config"]["channel_base"] == 1024 and counters["cur_nimg"] == 4
    old, new = load_file(str(latest_snapshot(run) / STATE_FILE)), load_file(str(wide / STATE_FILE))
    assert old["G.synthesis.b16.conv1.weight"].shape == (32, 32, 3, 3)
    assert new["G.synthesis.b16.conv1.weight"].shape == (64, 64, 3, 3)
    assert new["opt_D.b16.conv0.weight.exp_avg_sq"].shape == (64, 64, 3, 3)
    assert not new["G.synthesis.b16.conv1.weight"][:32, 32:].any()  # old channels do not read new ones

    G0, G1 = load_checkpoint(latest_snapshot(run)), load_checkpoint(wide)
    assert GeneratorConfig.from_dict(counters["G_config"]) == G1.config
    z = torch.randn(3, G0.z_dim)
    with torch.no_grad():
        torch.testing.assert_close(G1(z, noise_mode="const"), G0(z, noise_mode="const"), atol=1e-5, rtol=0)

    train(_opts(tiny_data, tmp_path / "wide", kimg=0.008, metrics=[], resume=str(tmp_path / "wide")))
    log = read_log(tmp_path / "wide")
    assert [r["kimg"] for r in log] == [0.004, 0.008]  # the narrow run's tick, then the wide one's
    assert np.isfinite(log[-1]["loss_G"]) and load_checkpoint(latest_snapshot(tmp_path / "wide")).config == G1.config

    from studio.cli import main

    assert main(["widen", str(run), str(tmp_path / "same"), "--channel-base", "512"]) == 2  # not wider: an error
    assert "must be above the snapshot's (512 in G, 512 in D)" in capsys.readouterr().err
    assert not (tmp_path / "same").exists()
    with pytest.raises(TrainingError, match="exists"):
        widen_snapshot(run, tmp_path / "wide", channel_base=1024)
    monkeypatch.setitem(trainer.CONFIGS, "tiny", (128, 64, 32, 2))  # 32 channels at 4 px: widening reaches D's mbstd
    tiny = train(_opts(tiny_data, tmp_path / "tiny", cfg="tiny", kimg=0.004, metrics=[]))
    with pytest.raises(TrainingError, match="4 px"):
        widen_snapshot(tiny, tmp_path / "tiny-wide", channel_base=256)


def test_the_eye_discriminator_judges_the_two_eye_regions_only():
    torch.manual_seed(5)
    config = replace(discriminator_config("demo", 64, 3), eye_patch=local_patch_size(64))
    D = Discriminator(config).eval()
    img = torch.rand(4, 3, 64, 64) * 2 - 1
    logits = D(img)
    assert logits.shape == (4, 2)  # [whole image, eyes]
    patches = eye_patches(img, 16)
    assert patches.shape == (4, 6, 16, 16)
    # The portraits' eyes (FFHQ's canonical positions) sit at the patches' centres.
    assert torch.equal(patches[:, :3, 8, 8], img[:, :, round(LEFT_EYE[1] * 64), round(LEFT_EYE[0] * 64)])
    assert torch.equal(patches[:, 3:, 8, 8], img[:, :, round(RIGHT_EYE[1] * 64), round(RIGHT_EYE[0] * 64)])
    mouth = img.clone()
    mouth[:, :, 44:52, 24:40] = 1.0  # the mouth changes: the eye critic cannot see it, the whole-image one does
    changed = D(mouth)
    assert torch.equal(changed[:, 1], logits[:, 1]) and not torch.allclose(changed[:, 0], logits[:, 0])
    eyes = img.clone()
    eyes[:, :, 28:33, 22:27] = 1.0  # one iris changes: the eye critic sees it
    assert not torch.allclose(D(eyes)[:, 1], logits[:, 1])
    with pytest.raises(ValueError, match="eye_patch"):
        Discriminator(replace(config, eye_patch=12))


def test_a_packed_eye_discriminator_judges_samples_together():
    """--eye-pack 2 (PacGAN): a third critic, one logit per pair of samples, moved by either sample's eyes only."""
    torch.manual_seed(6)
    config = replace(
        discriminator_config("demo", 64, 3), eye_patch=local_patch_size(64), eye_pack=2, mbstd_group_size=1
    )  # minibatch-std off: it would compare packs with one another
    D = Discriminator(config).eval()
    assert D.eyes.config.img_channels == 6 and D.eye_packs.config.img_channels == 12  # 2 samples' 2 eyes, stacked
    img = torch.rand(4, 3, 64, 64) * 2 - 1
    all_logits = D(img)
    assert all_logits.shape == (4, 3)  # [whole image, eyes, eye packs]
    logits = all_logits[:, 2]
    assert logits[0] == logits[1] and logits[2] == logits[3] and logits[0] != logits[2]
    eyes = img.clone()
    eyes[1, :, 28:33, 22:27] = 1.0  # the second sample's iris changes: its pack's logit moves, the other's stays
    changed = D(eyes)[:, 2]
    assert changed[0] != logits[0] and torch.equal(changed[2:], logits[2:])
    # Each pack's logit counts once in the gradients (R1, G's loss), not once per sample of the pack.
    img.requires_grad_(True)
    (per_sample,) = torch.autograd.grad(D(img)[:, 2].sum(), img)
    (per_pack,) = torch.autograd.grad(D.eye_packs(eye_patches(img, 16).reshape(2, 12, 16, 16)).sum(), img)
    torch.testing.assert_close(per_sample, per_pack)
    with pytest.raises(ValueError, match="packs of 2 samples; got a batch of 3"):
        D(img[:3])
    with pytest.raises(ValueError, match="eye_pack"):
        Discriminator(replace(config, eye_pack=1))
    with pytest.raises(ValueError, match="eye_pack needs eye_patch"):
        Discriminator(replace(config, eye_patch=0))


def test_a_mouth_critic_judges_the_mouth_region_alone_or_in_packs():
    """mouth_patch: a local critic of the mouth (column "mouth"); with mouth_pack 2 it judges pairs of mouths."""
    torch.manual_seed(7)
    config = replace(discriminator_config("demo", 64, 3), mouth_patch=local_patch_size(64), mbstd_group_size=1)
    D = Discriminator(config).eval()
    assert D.critics() == ["", "mouth"] and D.mouth.config.img_channels == 3
    img = torch.rand(4, 3, 64, 64) * 2 - 1
    logits = D(img)
    assert logits.shape == (4, 2)
    patches = mouth_patches(img, 16)  # [4, 3, 16, 16], the mouth (FFHQ's canonical position) at the centre
    assert torch.equal(patches[:, :, 8, 8], img[:, :, round(MOUTH[1] * 64), round(MOUTH[0] * 64)])
    eyes = img.clone()
    eyes[:, :, 28:33, 22:27] = 1.0  # an iris changes: the mouth critic cannot see it
    assert torch.equal(D(eyes)[:, 1], logits[:, 1])
    smile = img.clone()
    smile[:, :, 46:49, 26:38] = -1.0  # the mouth changes: it does
    assert not torch.allclose(D(smile)[:, 1], logits[:, 1])
    packed = Discriminator(replace(config, mouth_pack=2, eye_patch=16, eye_pack=2)).eval()
    assert packed.critics() == ["", "eyes", "eye_packs", "mouth"] and packed.mouth.config.img_channels == 6
    pairs = packed(img)[:, 3]
    assert pairs[0] == pairs[1] and pairs[2] == pairs[3] and pairs[0] != pairs[2]
    smile[2:] = img[2:]  # only the first pair's mouths change
    changed = packed(smile)[:, 3]
    assert changed[0] != pairs[0] and torch.equal(changed[2:], pairs[2:])
    with pytest.raises(ValueError, match="mouth_pack"):
        Discriminator(replace(config, mouth_pack=1))
    with pytest.raises(ValueError, match="mouth_pack needs mouth_patch"):
        Discriminator(replace(config, mouth_patch=0, mouth_pack=2))


def test_a_mouth_pack_critic_joins_a_resumed_run(tiny_data, tmp_path):
    run = train(_opts(tiny_data, tmp_path / "run", kimg=0.004, metrics=[], eye_pack=2))
    before = load_file(str(latest_snapshot(run) / STATE_FILE))
    train(_opts(tiny_data, tmp_path / "run", kimg=0.008, metrics=[], resume=str(run), mouth_pack=2, dlr=0.0))
    snap = latest_snapshot(run)
    dcfg = json.loads((snap / STATE_JSON).read_text())["D_config"]
    assert (dcfg["mouth_patch"], dcfg["mouth_pack"], dcfg["eye_pack"]) == (8, 2, 2)  # patches: 8 px at least
    after = load_file(str(snap / STATE_FILE))
    assert all(torch.equal(v, after[k]) for k, v in before.items() if k.startswith("D."))  # the others kept
    assert after["D.mouth.b8.fromrgb.weight"].shape[1] == 6  # two samples' mouths, stacked
    assert np.isfinite(read_log(run)[-1]["score_fake_mouth"])
    with pytest.raises(TrainingError, match="--mouth-pack must be 0"):
        train(_opts(tiny_data, tmp_path / "run", kimg=0.012, metrics=[], resume=str(run), mouth_pack=1))


def test_an_eye_discriminator_joins_a_resumed_run_and_stays(tiny_data, tmp_path):
    run = train(_opts(tiny_data, tmp_path / "run", kimg=0.004, metrics=[]))
    plain = load_file(str(latest_snapshot(run) / STATE_FILE))
    train(_opts(tiny_data, tmp_path / "run", kimg=0.008, metrics=[], resume=str(run), eye_d=True))
    snap = latest_snapshot(run)
    assert json.loads((snap / STATE_JSON).read_text())["D_config"]["eye_patch"] == 8  # a quarter of 16 px
    both = load_file(str(snap / STATE_FILE))
    assert any(k.startswith("D.eyes.") for k in both) and any(k.startswith("opt_D.eyes.") for k in both)
    assert set(k for k in plain if k.startswith("D.")) < set(both)  # the trained D kept, the eye D added
    log = read_log(run)
    assert all(np.isfinite(r["loss_G"]) and np.isfinite(r["loss_D"]) for r in log)
    assert "score_real_eyes" not in log[0] and np.isfinite(log[1]["score_real_eyes"])  # each critic's scores
    train(_opts(tiny_data, tmp_path / "run", kimg=0.012, metrics=[], resume=str(run)))  # no flag: kept
    assert json.loads((latest_snapshot(run) / STATE_JSON).read_text())["D_config"]["eye_patch"] == 8
    assert read_log(run)[-1]["kimg"] == 0.012
    before = load_file(str(latest_snapshot(run) / STATE_FILE))
    # --eye-pack adds a fresh pack critic; the trained critics are kept (D's lr 0: unchanged).
    train(_opts(tiny_data, tmp_path / "run", kimg=0.016, metrics=[], resume=str(run), eye_pack=2, dlr=0.0))
    snap = latest_snapshot(run)
    assert json.loads((snap / STATE_JSON).read_text())["D_config"]["eye_pack"] == 2
    after = load_file(str(snap / STATE_FILE))
    assert all(torch.equal(v, after[k]) for k, v in before.items() if k.startswith("D."))
    rgb = "D.eye_packs.b8.fromrgb.weight"
    assert rgb not in before and after[rgb].shape[1] == 12 and after[f"opt_D.{rgb[2:]}.exp_avg"].shape[1] == 12
    assert np.isfinite(read_log(run)[-1]["score_fake_eye_packs"])
    with pytest.raises(TrainingError, match="packs of 3 samples: each process's batch \\(4\\)"):
        train(_opts(tiny_data, tmp_path / "odd", kimg=0.004, metrics=[], resume=str(run), eye_pack=3))
    train(_opts(tiny_data, tmp_path / "run", kimg=0.02, metrics=[], resume=str(run), eye_pack=0))  # dropped again
    snap = latest_snapshot(run)
    assert json.loads((snap / STATE_JSON).read_text())["D_config"]["eye_pack"] == 0
    tensors = load_file(str(snap / STATE_FILE))
    assert not any(".eye_packs." in k for k in tensors) and any(k.startswith("D.eyes.") for k in tensors)
    # A snapshot whose D config has the eye D but whose tensors lack it: refused.
    save_file({k: v for k, v in tensors.items() if not k.startswith("D.eyes.")}, str(snap / STATE_FILE))
    with pytest.raises(TrainingError, match="discriminator does not fit"):
        train(_opts(tiny_data, tmp_path / "run", kimg=0.024, metrics=[], resume=str(run), eye_d=True))
