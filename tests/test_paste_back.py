"""Paste-back: the inverse of the FFHQ crop, the mask, the blends, and the photo journey on a tiny generator."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from conftest import make_tiny_generator
from PIL import Image

from editing.align import align_face
from editing.directions import Direction
from editing.paste import BLENDS, PasteError, Placement, face_mask, mask_box, paste_back
from studio import workflows as wf
from stylegan_core.hub import base_model, entry_for


def _placement(photo: Image.Image, size: int = 256) -> tuple[Placement, Image.Image]:
    aligned = align_face(photo, size=size)
    return Placement(photo.size, aligned.quad, aligned.landmarks, aligned.face_index), aligned.image


@pytest.fixture(scope="module")
def obama(photos):
    photo = wf.read_photo(photos / "obama.jpg")
    return photo, *_placement(photo)


def test_the_inverse_warp_lands_on_the_aligned_crop_to_a_sub_pixel(obama):
    """Sampling the photo through crop_to_photo reproduces the FFHQ crop; half a pixel off is clearly worse."""
    photo, placement, aligned = obama
    pixels, target = np.asarray(photo).astype(np.float32), np.asarray(aligned).astype(np.float32)

    def error(shift: float) -> float:
        warp = placement.crop_to_photo(256) + [[0, 0, shift], [0, 0, 0]]
        resampled = cv2.warpAffine(pixels, warp, (256, 256), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP)
        return float(np.abs(resampled - target)[32:-32, 32:-32].mean())

    assert error(0.0) < 2.5
    assert error(0.5 * placement.side / 256) > 1.3 * error(0.0)


def test_no_edit_gives_the_photo_back_and_outside_the_mask_nothing_changes(obama):
    photo, placement, aligned = obama
    pixels, face = np.asarray(photo), np.asarray(aligned)
    assert np.array_equal(paste_back(pixels, face, placement, unedited=face, blend="detail"), pixels)
    noise = np.random.default_rng(0).integers(0, 256, face.shape, dtype=np.uint8)
    box = mask_box(placement)
    outside = np.ones(pixels.shape[:2], bool)
    outside[box[1] : box[3], box[0] : box[2]] = face_mask(placement, box) == 0
    for blend in BLENDS:
        pasted = paste_back(pixels, noise, placement, unedited=face, blend=blend)
        assert pasted.shape == pixels.shape and pasted.dtype == np.uint8
        assert np.array_equal(pasted[outside], pixels[outside]), blend  # the photo's own bytes
        assert np.abs(pasted.astype(int) - pixels).max() > 50, blend  # and the face did change


def test_the_direct_paste_of_the_crop_itself_is_the_photo(obama):
    """The aligned crop at a size above the face's pasted back directly: the face region as it was (PSNR)."""
    photo, placement, _ = obama
    big = np.asarray(align_face(photo, size=1024).image)
    pasted = paste_back(np.asarray(photo), big, placement, blend="direct").astype(np.float64)
    box = mask_box(placement)
    inside = face_mask(placement, box) > 0.99
    region = np.asarray(photo)[box[1] : box[3], box[0] : box[2]][inside]
    mse = ((pasted[box[1] : box[3], box[0] : box[2]][inside] - region) ** 2).mean()
    assert 10 * np.log10(255**2 / mse) > 32


def test_a_face_whose_crop_leaves_the_photo(obama):
    """A photo cut close around the face: the crop quad reaches outside it, paste-back still fits."""
    photo, placement, _ = obama
    x0, y0, x1, y1 = (int(v) for v in (*placement.landmarks.min(0), *placement.landmarks.max(0)))
    cut = photo.crop((x0 - 15, y0 - 25, x1 + 15, y1 + 15))
    cut_placement, aligned = _placement(cut, 128)
    assert cut_placement.quad.min() < 0  # the quad leaves the photo
    face = np.asarray(aligned)
    pasted = paste_back(np.asarray(cut), 255 - face, cut_placement, blend="direct")
    assert pasted.shape == np.asarray(cut).shape and not np.array_equal(pasted, np.asarray(cut))


def test_bad_inputs_are_clear_errors(obama):
    photo, placement, aligned = obama
    face = np.asarray(aligned)
    with pytest.raises(PasteError, match="aligned on a 512x640 photo"):
        paste_back(np.zeros((100, 100, 3), np.uint8), face, placement)
    with pytest.raises(PasteError, match="unknown blend"):
        paste_back(np.asarray(photo), face, placement, blend="magic")
    with pytest.raises(PasteError, match="needs the unedited"):
        paste_back(np.asarray(photo), face, placement, blend="detail")
    with pytest.raises(PasteError, match="not an alignment record"):
        Placement.from_json({"quad": [[0, 0]]})
    assert Placement.from_json(placement.to_json()).to_json() == placement.to_json()


# --- the journey on a tiny generator ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    G = make_tiny_generator(resolution=64)
    direction = torch.randn(G.w_dim, generator=torch.Generator().manual_seed(1))
    directions = {"smile": Direction("smile", direction / direction.norm() * 5, space="w")}
    return G, directions


def _retouch(G, directions, photo, **kwargs):
    options = dict(preset="fast", steps=2, pti_steps=0)
    return wf.retouch_photo(G, "tiny", photo, "smile=2", directions, **(options | kwargs))


def test_retouch_edits_every_face_of_a_group_photo_in_place(tiny, photos):
    G, directions = tiny
    photo = wf.read_photo(photos / "two_people.jpg")
    result = _retouch(G, directions, photo, faces="all")
    assert result.image.shape == (photo.height, photo.width, 3) and len(result.faces) == 2
    pixels = np.asarray(photo)
    for face in result.faces:
        placement = face.inversion.latent.placement
        box = mask_box(placement)
        changed = np.abs(result.image.astype(int) - pixels)[box[1] : box[3], box[0] : box[2]].max(axis=-1)
        assert changed[face_mask(placement, box) > 0.9].mean() > 1  # each face moved
    assert {f.inversion.latent.placement.face_index for f in result.faces} == {0, 1}
    one = _retouch(G, directions, photo)  # the largest only
    assert len(one.faces) == 1


def test_retouch_an_exif_rotated_photo(tiny, photos, tmp_path):
    """A phone photo stored sideways with an EXIF orientation: the face is found upright and the result has the
    photo's upright size."""
    G, directions = tiny
    upright = Image.open(photos / "obama.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.jpg", exif=exif.tobytes(), quality=95)
    photo = wf.read_photo(tmp_path / "sideways.jpg")
    assert photo.size == upright.size
    result = _retouch(G, directions, photo)
    assert result.image.shape == (upright.height, upright.width, 3)
    assert result.faces[0].inversion.latent.placement.photo_size == upright.size


def test_a_face_too_small_for_the_model_is_left_and_listed(tiny, photos):
    """A 1024 px model, a photo with a large face and a small one: the large one is edited, the small one is
    left as it was and listed."""
    _, directions = tiny
    face = wf.read_photo(photos / "obama.jpg")
    photo = Image.new("RGB", (900, 640), (128, 128, 128))
    photo.paste(face, (0, 0))
    photo.paste(face.resize((179, 224), Image.Resampling.LANCZOS), (600, 50))
    G = make_tiny_generator(resolution=1024, channel_max=8, mapping={"z_dim": 32, "w_dim": 32})
    direction = torch.ones(G.w_dim) * 3
    result = _retouch(G, {"smile": Direction("smile", direction, space="w")}, photo, faces="all")
    assert [f.inversion.latent.placement.face_index for f in result.faces] == [1]
    assert [index for index, _ in result.skipped] == [0] and result.skipped[0][1] < wf.retouch.smallest_face_px(G)
    pixels = np.asarray(photo)
    assert np.array_equal(result.image[:, 560:], pixels[:, 560:])  # the small face untouched
    with pytest.raises(ValueError, match="too small"):
        _retouch(G, {"smile": Direction("smile", direction, space="w")}, photo, faces=0)


def test_retouch_refuses_bad_requests_before_any_work(tiny, photos):
    G, directions = tiny
    photo = wf.read_photo(photos / "obama.jpg")
    with pytest.raises(ValueError, match="no direction frown"):
        wf.retouch_photo(G, "tiny", photo, {"frown": 1}, directions)
    with pytest.raises(ValueError, match="unknown blend"):
        wf.retouch_photo(G, "tiny", photo, "smile=1", directions, blend="magic")
    with pytest.raises(ValueError, match="no face"):
        wf.retouch_photo(G, "tiny", wf.read_photo(photos / "no_face.png"), "smile=1", directions)
    with pytest.raises(ValueError, match="face 7 does not exist"):
        _retouch(G, directions, photo, faces=7)
    seed = wf.seed_latents(G, "tiny", [0], 0.7)[0]
    with pytest.raises(PasteError, match="did not come from a photo"):
        wf.paste_edit(G, seed, seed, photo)


def test_an_inversion_saved_and_read_back_keeps_its_placement_and_tuned_generator(tiny, photos, tmp_path):
    G, directions = tiny
    photo = wf.read_photo(photos / "obama.jpg")
    inversion = wf.invert_photo(G, "demo", photo, preset="fast", steps=2, pti_steps=2, identity=False)
    inversion.save(tmp_path)
    latent = wf.latent_from_file(G, "demo", tmp_path / "projected_w.npz")
    assert latent.placement.to_json() == inversion.latent.placement.to_json()
    assert wf.tuned_beside(tmp_path / "projected_w.npz") == tmp_path / "pti"
    assert base_model(str(tmp_path / "pti")) == "demo" and entry_for(str(tmp_path / "pti")).name == "demo"
    assert wf.directions_of(str(tmp_path / "pti")).keys() == wf.directions_of("demo").keys()


def test_apply_edits_takes_the_apis_forms(tiny):
    G, directions = tiny
    seed = wf.seed_latents(G, "tiny", [3], 0.7)[0]
    expected = wf.apply_edits(G, seed, directions, [wf.DirectionEdit("smile", 2.0)]).ws
    for form in ({"smile": 2}, "smile=2", '{"smile": {"strength": 2}}'):
        assert np.array_equal(wf.apply_edits(G, seed, directions, form).ws, expected), form


def test_cli_edit_after_pti_draws_with_the_tuned_generator_and_pastes_into_the_photo(photos, tmp_path, capsys):
    """`studio project --pti` then `studio edit --w D/projected_w.npz --photo`: the tuned generator draws (alpha 0
    is proj.png exactly), each edit also comes back in the photo, and `--network D/pti` knows the demo's
    directions. The tuning has a bar of its own that says so."""
    from studio.cli import main

    project, edit = tmp_path / "D", tmp_path / "E"
    photo = str(photos / "obama.jpg")
    assert main(["project", "--target", photo, "--network", "demo", "--pti", "3", "--outdir", str(project)]) == 0
    assert "tune the generator (PTI)" in capsys.readouterr().err
    assert (project / "alignment.json").is_file() and (project / "pti" / "tuned_from.json").is_file()
    w = str(project / "projected_w.npz")
    args = ["edit", "--network", "demo", "--w", w, "--direction", "smile", "--alpha=0,2", "--photo", photo]
    assert main([*args, "--outdir", str(edit)]) == 0
    assert "drawn by the generator tuned to this photo" in capsys.readouterr().out
    assert np.array_equal(
        np.asarray(Image.open(edit / "projected_w-smile+0.png")), np.asarray(Image.open(project / "proj.png"))
    )
    pasted = np.asarray(Image.open(edit / "projected_w-smile+2-photo.png"))
    assert pasted.shape == np.asarray(wf.read_photo(photo)).shape
    tuned = ["edit", "--network", str(project / "pti"), "--w", w, "--direction", "smile", "--alpha=2"]
    assert main([*tuned, "--outdir", str(tmp_path / "F")]) == 0


def test_the_app_tunes_demo_photos_where_needed_by_default():
    from studio.web.project_tab import defaults_for

    assert defaults_for("demo") == ("refine", 30, wf.PTI_STEPS, True)
