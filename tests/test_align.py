"""FFHQ alignment reproduces ../shared/reference/align; faces, landmarks, EXIF and bad photos."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from editing.align import FaceBox, FaceNotFoundError, align_face, detect_faces, face_landmarks
from stylegan_core.imaging import ImageReadError, read_image


@pytest.fixture(scope="module")
def photos(reference):
    return reference.parent / "fixtures" / "photos"


@pytest.mark.parametrize("stem", ["obama", "two_people", "astronaut", "2008_001322"])
def test_alignment_matches_the_official_procedure(reference, photos, stem):
    ref = json.loads((reference / "align" / f"{stem}.json").read_text())
    img = read_image(photos / ref["file"])
    for size in (256, 1024):
        a = align_face(img, size=size)
        assert a.face_index == ref["chosen_detection_index"]
        assert [b.as_list() for b in a.boxes] == [
            [d[k] for k in ("left", "top", "right", "bottom")] for d in ref["detections"]
        ]
        np.testing.assert_array_equal(a.landmarks, ref["landmarks68"])
        np.testing.assert_allclose(a.quad, ref["aligned"][str(size)]["procedure"]["quad_original"], atol=0.01)
        expected = np.asarray(Image.open(reference / "align" / f"{stem}_aligned_{size}.png"), dtype=float)
        assert np.abs(np.asarray(a.image, dtype=float) - expected).mean() <= 1.0


def test_faces_found_where_there_are_faces(photos):
    assert detect_faces(read_image(photos / "dogs.jpg")) == []
    assert len(detect_faces(read_image(photos / "bald_guys.jpg"))) >= 2
    assert len(detect_faces(read_image(photos / "two_people.jpg"))) == 2
    with pytest.raises(FaceNotFoundError, match="no face found"):
        align_face(read_image(photos / "dogs.jpg"), size=64)
    with pytest.raises(ValueError, match="face 5 does not exist: 2"):
        align_face(read_image(photos / "two_people.jpg"), size=64, face=5)
    other = align_face(read_image(photos / "two_people.jpg"), size=64, face=1)
    assert other.face_index == 1


def test_landmarks_match_dlibs_training_xml(photos):
    root = ET.parse(photos / "training_with_face_landmarks.xml").getroot()
    checked = 0
    for image in root.iter("image"):
        path = photos / image.get("file")
        if not path.is_file():
            continue
        img = read_image(path)
        for box in image.iter("box"):
            left, top = int(box.get("left")), int(box.get("top"))
            fb = FaceBox(left, top, left + int(box.get("width")) - 1, top + int(box.get("height")) - 1)
            expected = np.array([[int(p.get("x")), int(p.get("y"))] for p in box.iter("part")])
            dist = np.hypot(*(face_landmarks(img, fb) - expected).T)  # per point, px
            assert dist.mean() <= 2 and (dist <= 2).mean() >= 0.8, (path.name, dist.mean(), dist.max())
            checked += 1
    assert checked >= 4


def test_exif_rotated_copy_aligns_to_the_same_crop(photos):
    original = read_image(photos / "obama.jpg")
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored pixels are turned the other way
    original.transpose(Image.Transpose.ROTATE_90).save(buf, format="PNG", exif=exif)
    rotated = read_image(io.BytesIO(buf.getvalue()))
    assert rotated.size == original.size
    a, b = align_face(original, size=256), align_face(rotated, size=256)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert np.abs(np.asarray(a.image, dtype=float) - np.asarray(b.image, dtype=float)).mean() < 0.5


def test_awkward_photo_files(tmp_path):
    rng = np.random.RandomState(0)
    grey16 = Image.fromarray((rng.rand(20, 30) * 65535).astype(np.uint16))
    assert read_image(_saved(grey16, tmp_path / "g16.png")).mode == "RGB"
    rgba = Image.fromarray(rng.randint(0, 255, (20, 30, 4), dtype=np.uint8), "RGBA")
    assert read_image(_saved(rgba, tmp_path / "a.png")).size == (30, 20)
    cmyk = Image.fromarray(rng.randint(0, 255, (20, 30, 4), dtype=np.uint8), "CMYK")
    assert read_image(_saved(cmyk, tmp_path / "c.jpg")).mode == "RGB"
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert read_image(tmp_path / "anim.gif").getpixel((0, 0))[0] > 200  # first frame
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image(tmp_path)
    huge = tmp_path / "huge.png"
    Image.new("L", (20000, 20000)).save(huge)
    with pytest.raises(ImageReadError, match="too large"):
        read_image(huge)


def _saved(img, path):
    img.save(path)
    return path


def test_identity_distance_separates_people(photos):
    from editing.identity import SAME_PERSON_THRESHOLD, identity_distance

    obama, biden = (Image.open(photos / f"{name}.jpg") for name in ("obama", "biden"))
    aligned = align_face(obama, size=256).image
    assert identity_distance(aligned, aligned) == pytest.approx(0, abs=1e-6)
    assert identity_distance(aligned, obama.convert("L").convert("RGB")) < SAME_PERSON_THRESHOLD
    assert identity_distance(aligned, align_face(biden, size=256).image) > SAME_PERSON_THRESHOLD


def test_align_command_refuses_sizes_ffhq_cannot_make_and_names_unreadable_files_once(photos, tmp_path, capsys):
    """FFHQ's warp is 4096 px and only scales down: 5000 would come out 4096 without a word; 0 divided by zero."""
    from studio.cli import main

    for size in ("0", "5000"):
        with pytest.raises(SystemExit):
            main(["align", str(photos / "obama.jpg"), "--outdir", str(tmp_path), "--size", size])
        assert "the aligned size must be 16 to 4096 px" in capsys.readouterr().err
    with pytest.raises(ValueError, match="16 to 4096"):
        align_face(Image.new("RGB", (64, 64)), size=8)
    (tmp_path / "notes.jpg").write_text("not a photo")
    assert (
        main(
            [
                "align",
                str(photos / "obama.jpg"),
                str(tmp_path / "notes.jpg"),
                "--outdir",
                str(tmp_path / "out"),
                "--size",
                "64",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"{tmp_path / 'notes.jpg'}: not an image" in err and err.count("notes.jpg") == 1
    assert Image.open(tmp_path / "out" / "obama.png").size == (64, 64)
