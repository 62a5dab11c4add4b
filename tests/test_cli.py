"""The `studio` command line, run in-process like a user would run it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from pixels import assert_same_picture

from studio.cli import main


def test_generate_matches_gen_images_pixels(reference, tmp_path):
    code = main(
        [
            "generate",
            "--network",
            str(reference / "nv_sg2_64_snapshot.pkl"),
            "--seeds",
            "0-1,42",
            "--outdir",
            str(tmp_path),
            "--grid",
        ]
    )
    assert code == 0
    io = np.load(reference / "nv_sg2_64_seeds_io.npz")
    for seed in (0, 1, 42):
        expected = torch.from_numpy(io[f"img_seed{seed}"]).permute(0, 2, 3, 1) * 127.5 + 128
        expected = expected.clamp(0, 255).to(torch.uint8).numpy()[0]
        ours = np.asarray(Image.open(tmp_path / f"seed{seed:04d}.png"))
        assert_same_picture(ours, expected)  # the same floats within 4e-6; 8-bit rounding may differ
    assert Image.open(tmp_path / "grid.png").size == (128, 128)


def test_generate_sg3_with_transform_and_conditional(reference, tmp_path):
    assert (
        main(
            [
                "generate",
                "--network",
                str(reference / "nv_sg3t_64.safetensors"),
                "--seeds",
                "3",
                "--translate",
                "0.25,-0.125",
                "--rotate",
                "12",
                "--outdir",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "a" / "seed0003.png").size == (64, 64)
    cond = str(reference / "nv_sg2_32_cond.safetensors")
    assert main(["generate", "--network", cond, "--seeds", "1", "--class", "3", "--outdir", str(tmp_path / "b")]) == 0
    assert main(["generate", "--network", cond, "--seeds", "1", "--outdir", str(tmp_path / "c")]) == 2
    assert main(["generate", "--network", cond, "--seeds", "1", "--class", "9", "--outdir", str(tmp_path / "c")]) == 2


def test_translate_on_stylegan2_is_a_clear_error(tiny_generator, tmp_path, capsys):
    code = main(
        [
            "generate",
            "--network",
            str(tiny_generator.save_pretrained(tmp_path / "model")),
            "--seeds",
            "1",
            "--rotate",
            "10",
            "--outdir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "StyleGAN3" in capsys.readouterr().err


@pytest.mark.parametrize("seeds", ["5-3", "abc", "", "1-"])
def test_bad_seeds_are_usage_errors(seeds, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--network", "demo", "--seeds", seeds, "--outdir", str(tmp_path)])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    "args, message",
    [
        ("generate --network demo --seeds 1 --trunc nan", "--trunc: expected a finite number"),
        ("generate --network demo --seeds 1 --translate inf,0", "--translate: expected a finite 'x,y'"),
        ("edit --network demo --seeds 1 --direction smile --alpha=-2,nan", "--alpha: expected a finite number"),
        ("train --data x.zip --gamma nan", "--gamma: expected a finite number"),
        ("generate --network demo --seeds 1 --batch 0", "--batch: must be at least 1"),  # was "range() arg 3 ..."
        ("project --network demo --target x.png --steps 0", "--steps: must be at least 1"),  # was the preset's 100
        ("interpolate --network demo --seeds 0,1 --fps 0", "--fps: must be at least 1"),  # was a ZeroDivisionError
        ("directions discover --network demo --k 0", "--k: must be at least 1"),  # was "0 direction(s)"
        ("generate --network demo --seeds 1 --device tpu", "--device: unknown device 'tpu'"),
        ("generate --network demo --seeds 1 --device cuda:99", "--device: 'cuda:99': this machine has"),
    ],
)
def test_numbers_and_devices_no_command_can_use_are_usage_errors(args, message, tmp_path, capsys):
    """Refused before anything loads: float() takes 'nan' (which passes every range check and makes black
    images or a NaN run), and counts below their least meaningful value crashed or were ignored."""
    with pytest.raises(SystemExit) as exit_info:
        main([*args.split(), "--outdir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert f"argument {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_model_lists_known_names(tmp_path, capsys):
    assert main(["generate", "--network", "ffhq-v9", "--seeds", "1", "--outdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'ffhq-v9'" in err and "ada-afhqcat" in err and "ffhq" in err


def test_convert_then_info(reference, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert", "--input", str(reference / "nv_sg2_64_snapshot.pkl"), "--outdir", str(out)]) == 0
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert main(["info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "num_ws           10" in printed and "64x64" in printed and "stylegan2" in printed


def test_input_transform_matches_gen_images(reference):
    from stylegan_core.seeds import input_transform

    io = np.load(reference / "nv_sg3t_64_io.npz")
    np.testing.assert_allclose(input_transform((0.25, -0.125), 12.0).numpy(), io["t3_transform"], atol=1e-7)
