"""Reference hashes from the original picture: computed in memory, never on disk."""

from __future__ import annotations

import io
import os

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from takedown.checks.hashing import compute_hashes
from takedown.models import CaseEvent, FoundLink
from tests.factories import CaseFactory, FoundLinkFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def noise_png(size: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about size*size*3."""
    from PIL import Image

    picture = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def carla_case(client):
    team = TeamFactory()
    user = UserFactory(username="carla")
    user.groups.add(Group.objects.get(name="caseworker"))
    team.members.add(user)
    client.force_login(user)
    return CaseFactory(team=team)


def test_large_picture_is_hashed_in_memory_and_never_written(
    client, carla_case, settings, tmp_path, monkeypatch
):
    spool = tmp_path / "spool"
    spool.mkdir()
    # Where Django would spool an upload above 2.5 MB, and where tempfile would write.
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    monkeypatch.setattr("tempfile.tempdir", str(spool))
    data = noise_png(1024)
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    links = [FoundLinkFactory(case=carla_case) for _ in range(2)]
    hashed = FoundLinkFactory(case=carla_case, ref_sha256="a" * 64)

    response = client.post(
        reverse("staff:reference_picture", args=[carla_case.reference]),
        {"picture": SimpleUploadedFile("me.png", data, content_type="image/png")},
        follow=True,
    )

    expected = compute_hashes(data)
    stored = FoundLink.objects.filter(pk__in=[link.pk for link in links])
    assert {(link.ref_sha256, link.ref_phash, link.ref_pdq) for link in stored} == {
        (expected.sha256, expected.phash, expected.pdq)
    }
    assert FoundLink.objects.get(pk=hashed.pk).ref_sha256 == "a" * 64
    assert [str(m) for m in response.context["messages"]] == [
        "The picture's fingerprints were stored for 2 links; the picture was not kept."
    ]
    assert list(spool.iterdir()) == []
    assert CaseEvent.objects.get(case=carla_case, kind="links.reference_hashes").data == {
        "rows": 2,
        "updated": 2,
    }


def test_picture_over_the_cap_is_refused_unread(client, carla_case, settings):
    settings.TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES = 100_000
    link = FoundLinkFactory(case=carla_case)

    response = client.post(
        reverse("staff:reference_picture", args=[carla_case.reference]),
        {"picture": SimpleUploadedFile("me.png", noise_png(400), content_type="image/png")},
        follow=True,
    )

    assert FoundLink.objects.get(pk=link.pk).ref_sha256 == ""
    assert [str(m) for m in response.context["messages"]] == [
        "Choose a picture (at most 97.7\xa0KB)."
    ]


def test_picture_for_one_link_and_not_a_picture(client, carla_case):
    one = FoundLinkFactory(case=carla_case, url="https://img.one.example/a.jpg")
    other = FoundLinkFactory(case=carla_case, url="https://img.one.example/b.jpg")
    url = reverse("staff:reference_picture", args=[carla_case.reference])

    client.post(
        url,
        {"picture": SimpleUploadedFile("me.png", noise_png(64)), "url": one.url},
    )
    broken = client.post(
        url, {"picture": SimpleUploadedFile("me.png", b"not a picture")}, follow=True
    )

    assert FoundLink.objects.get(pk=one.pk).ref_sha256 != ""
    assert FoundLink.objects.get(pk=other.pk).ref_sha256 == ""
    assert [str(m) for m in broken.context["messages"]] == [
        "The picture's fingerprints were stored for 1 link; the picture was not kept.",
        "This file is not a picture that can be read.",
    ]
