"""Evaluation backends: weights from paths or the cache, user networks, genlmk's landmarker, MediaPipe."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from genlmk.errors import ConfigError, WeightsNotFoundError
from genlmk.evaluation.backends import make_detector, make_fid_network, make_identity, optional_network
from genlmk.evaluation.interfaces import check_frames
from genlmk.evaluation.landmarker_backend import LandmarkerKeypoints
from genlmk.evaluation.user_networks import NetworkIdentity, is_torchscript_file, load_user_network
from genlmk.metrics import FrechetDistance, build_lpips
from genlmk.metrics.inception import INCEPTION_CACHE_NAMES, InceptionFeatures
from genlmk.weights import find_weights, hub_cache_dir

# ---------------------------------------------------------------- weights: path, cache, clear errors


def test_find_weights_prefers_the_given_path_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert hub_cache_dir() == tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(WeightsNotFoundError, match=r"looked for a\.pth or b\.pth in .*torch/hub/checkpoints"):
        find_weights("Test", None, ("a.pth", "b.pth"))
    hub_cache_dir().mkdir(parents=True)
    (hub_cache_dir() / "b.pth").write_bytes(b"x")
    assert find_weights("Test", None, ("a.pth", "b.pth")) == hub_cache_dir() / "b.pth"
    with pytest.raises(WeightsNotFoundError, match=r"missing\.pth: Test weights file not found"):
        find_weights("Test", tmp_path / "missing.pth", ("b.pth",))


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """Randomly initialised weights with the FID Inception-v3 layout (torchvision's names)."""
    network = torchvision.models.inception_v3(
        weights=None, aux_logits=False, num_classes=1008, init_weights=False
    )
    path = tmp_path_factory.mktemp("weights") / INCEPTION_CACHE_NAMES[0]
    torch.save(network.state_dict(), path)
    return path


def test_inception_features_from_a_path_and_from_the_cache(random_inception_weights, tmp_path, monkeypatch):
    network = InceptionFeatures(random_inception_weights)
    images = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    features = network(images)
    assert features.shape == (1, 2048) and features.isfinite().all()
    assert FrechetDistance(network).real_sum.shape == (2048,)  # FID takes it as its feature network

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(
        WeightsNotFoundError, match="FID Inception-v3 weights not found: looked for pt_inception"
    ):
        InceptionFeatures()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / INCEPTION_CACHE_NAMES[1]).symlink_to(random_inception_weights)
    from_cache = InceptionFeatures()
    assert torch.equal(
        from_cache.network.Mixed_7c.branch_pool.conv.weight, network.network.Mixed_7c.branch_pool.conv.weight
    )


def test_inception_refuses_other_weights(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(WeightsNotFoundError, match=r"small\.pth: not FID Inception-v3 weights"):
        InceptionFeatures(path)
    torch.save({"not": "tensors"}, path)
    with pytest.raises(WeightsNotFoundError, match="not a FID Inception-v3 state dict"):
        InceptionFeatures(path)


@pytest.fixture(scope="module")
def random_alexnet_weights(tmp_path_factory):
    """torchvision AlexNet ``features.*`` weights (random), as LPIPS' backbone file."""
    features = torchvision.models.alexnet(weights=None).features
    path = tmp_path_factory.mktemp("weights") / "alexnet-owt-7be5be79.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def test_lpips_backbone_loads_from_a_path(random_alexnet_weights):
    network = build_lpips("alex", random_alexnet_weights)
    state = torch.load(random_alexnet_weights)
    assert torch.equal(network.net.slice1._modules["0"].weight, state["features.0.weight"])
    assert torch.equal(network.net.slice5._modules["10"].bias, state["features.10.bias"])
    assert not any(p.requires_grad for p in network.parameters())
    # the linear layers are lpips' shipped ones, not random
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import lpips

        shipped = lpips.LPIPS(pretrained=True, net="alex", pnet_rand=True, verbose=False)
    assert torch.equal(network.lin0.model[1].weight, shipped.lin0.model[1].weight)


def test_lpips_errors_name_the_file_and_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(
        WeightsNotFoundError, match="LPIPS AlexNet backbone weights not found: looked for alexnet-owt"
    ):
        build_lpips("alex")
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, wrong)
    with pytest.raises(WeightsNotFoundError, match=r"wrong\.pth: not torchvision AlexNet weights"):
        build_lpips("alex", wrong)
    with pytest.raises(ValueError, match="must be one of"):
        build_lpips("resnet", wrong)


def test_optional_networks_auto_turns_missing_weights_into_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    network, note = optional_network("auto", make_fid_network, "FID")
    assert network is None and note.startswith("FID skipped: FID Inception-v3 weights not found")
    assert optional_network("none", make_fid_network, "FID") == (None, None)
    with pytest.raises(WeightsNotFoundError, match=r"nope\.pth"):
        optional_network(str(tmp_path / "nope.pth"), make_fid_network, "FID")


# ---------------------------------------------------------------- user networks


class Embedder(nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_user_network_from_torchscript_and_factory(tmp_path):
    scripted = tmp_path / "embedder.pt"
    torch.jit.save(torch.jit.script(Embedder()), scripted)
    assert is_torchscript_file(scripted)
    images = torch.rand(2, 3, 8, 8)
    assert torch.allclose(load_user_network(str(scripted))(images), images.mean(dim=(2, 3)))
    flatten = load_user_network("torch.nn:Flatten")
    assert flatten(images).shape == (2, 192)
    assert isinstance(make_fid_network(str(scripted)), torch.jit.ScriptModule)
    assert isinstance(make_fid_network("torch.nn:Flatten"), nn.Flatten)


def test_user_network_errors(tmp_path):
    state = tmp_path / "state.pth"
    torch.save(nn.Linear(2, 2).state_dict(), state)
    assert not is_torchscript_file(state)
    with pytest.raises(ConfigError, match=r"state\.pth: not a TorchScript file"):
        load_user_network(str(state))
    with pytest.raises(ConfigError, match="cannot import no_such_module_xyz"):
        load_user_network("no_such_module_xyz:make")
    with pytest.raises(ConfigError, match="has no callable 'nothing'"):
        load_user_network("torch.nn:nothing")
    with pytest.raises(ConfigError, match=r"not an nn\.Module"):
        load_user_network("builtins:dict")
    with pytest.raises(ConfigError, match="no such file, and not of the form"):
        load_user_network(str(tmp_path / "missing.pt"))


def test_network_identity_embeds_frames_and_checks_its_output():
    frames = np.zeros((3, 10, 12, 3), dtype=np.uint8)
    frames[1] = 255
    embeddings = NetworkIdentity(Embedder()).embed(frames)
    assert embeddings.vectors.shape == (3, 3) and embeddings.found.all()
    assert torch.allclose(embeddings.vectors[1], torch.ones(3))
    with pytest.raises(ValueError, match=r"must return \(B, D\) = \(3, D\) embeddings; got \(3, 3, 10, 12\)"):
        NetworkIdentity(nn.Identity()).embed(frames)
    assert make_identity("none") is None
    assert isinstance(make_identity("torch.nn:Flatten"), NetworkIdentity)


def test_frames_are_checked():
    with pytest.raises(ValueError, match=r"\(B, H, W, 3\) uint8 array; got shape \(4, 4, 3\)"):
        check_frames(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB; got float32"):
        check_frames(np.zeros((1, 4, 4, 3), dtype=np.float32))


# ---------------------------------------------------------------- genlmk's landmarker (a fake of it)


class FakeLandmarker:
    """Has the interface of genlmk.inference.landmarker.Landmarker: template, predict, from_checkpoint."""

    loaded_from: ClassVar[list[str]] = []

    def __init__(self) -> None:
        from genlmk.template import load_template

        self.template = load_template("hand")

    @classmethod
    def from_checkpoint(cls, path):
        cls.loaded_from.append(str(path))
        return cls()

    def predict(self, frames: np.ndarray) -> torch.Tensor:
        # landmark i at (i, brightness of the frame); NaN for landmark 0 of dark frames
        brightness = torch.from_numpy(frames.reshape(len(frames), -1).mean(axis=1)).float()
        points = torch.stack(
            [torch.arange(21.0).expand(len(frames), 21), brightness[:, None].expand(-1, 21)], dim=-1
        ).clone()
        points[brightness < 10, 0] = float("nan")
        return points


@pytest.fixture
def fake_landmarker_module(monkeypatch):
    import genlmk.inference.landmarker as module

    monkeypatch.setattr(module, "Landmarker", FakeLandmarker)
    FakeLandmarker.loaded_from = []
    return module


def test_genlmk_detector_wraps_the_landmarker(fake_landmarker_module, tmp_path):
    detector = make_detector(f"genlmk:{tmp_path / 'hand.ckpt'}")
    assert FakeLandmarker.loaded_from == [str(tmp_path / "hand.ckpt")]
    assert detector.num_keypoints == 21 and detector.name == "genlmk hand landmarker"
    frames = np.full((2, 6, 6, 3), 200, dtype=np.uint8)
    frames[1] = 0
    keypoints = detector.detect(frames)
    assert keypoints.points.shape == (2, 21, 2) and keypoints.points.dtype == torch.float32
    assert keypoints.points[0, 5].tolist() == [5.0, 200.0]
    assert keypoints.found[0].all() and keypoints.found[1].sum() == 20 and not keypoints.found[1, 0]


def test_genlmk_detector_checks_the_landmarker_output():
    class Wrong(FakeLandmarker):
        def predict(self, frames):
            return np.zeros((len(frames), 3, 2))

    with pytest.raises(ValueError, match=r"shape \(1, 3, 2\), expected \(1, 21, 2\)"):
        LandmarkerKeypoints(Wrong()).detect(np.zeros((1, 4, 4, 3), dtype=np.uint8))


def test_unknown_detector_names_the_choices():
    with pytest.raises(ConfigError, match="unknown keypoint detector 'openpose'; use dlib, mediapipe"):
        make_detector("openpose")
    assert make_detector("none") is None


# ---------------------------------------------------------------- MediaPipe (optional)


def test_mediapipe_backend_reports_missing_install_or_finds_a_face():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"need mediapipe==0\.10\.21"):
            make_detector("mediapipe")
        pytest.skip("mediapipe is not installed (optional); checked the install message only")
    from skimage import data

    detector = make_detector("mediapipe")
    keypoints = detector.detect(data.astronaut()[None, :300, 80:380].copy())
    assert keypoints.points.shape == (1, 468, 2) and keypoints.found.all()
    nose = keypoints.points[0, 1]  # face mesh point 1: nose tip, in the face's middle
    assert 100 < nose[0] < 200 and 80 < nose[1] < 200
