"""Metric states reduce correctly across processes (two CPU ranks over gloo, uneven shares)."""

from __future__ import annotations

import multiprocessing
import queue as queue_module

import pytest
import torch
import torch.distributed as dist
from torch import nn

from genlmk.metrics import (
    AverageEuclideanDistance,
    AverageKeypointDistance,
    FrechetDistance,
    L1Distance,
    MissingKeypointRate,
    average_euclidean_distance,
    average_keypoint_distance,
    frechet_feature_distance,
    l1_distance,
    missing_keypoint_rate,
)

WORLD = 2
SHARES = (slice(0, 5), slice(5, 12))  # uneven: 5 frames on rank 0, 7 on rank 1


class MeanColour(nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([images.mean(dim=(2, 3)), images.amax(dim=(2, 3))], dim=1)


def _data() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    data = {
        "real_kp": torch.rand(12, 20, 2, generator=g) * 256,
        "fake_kp": torch.rand(12, 20, 2, generator=g) * 256,
        "real_found": torch.rand(12, 20, generator=g) > 0.1,
        "fake_found": torch.rand(12, 20, generator=g) > 0.3,
        "real_emb": torch.randn(12, 16, generator=g),
        "fake_emb": torch.randn(12, 16, generator=g),
        "real_img": torch.rand(12, 3, 8, 8, generator=g),
        "fake_img": torch.rand(12, 3, 8, 8, generator=g) ** 2,
    }
    data["fake_found"][7] = False  # a frame skipped by AKD, on rank 1
    return data


def _rank_results(data: dict[str, torch.Tensor], share: slice) -> dict[str, float]:
    d = {k: v[share] for k, v in data.items()}
    akd, mkr, aed, l1 = (
        AverageKeypointDistance(),
        MissingKeypointRate(),
        AverageEuclideanDistance(),
        L1Distance(),
    )
    fid = FrechetDistance(MeanColour())
    akd.update(d["real_kp"], d["fake_kp"], d["real_found"], d["fake_found"])
    mkr.update(d["real_found"], d["fake_found"])
    aed.update(d["real_emb"], d["fake_emb"])
    l1.update(d["real_img"], d["fake_img"])
    fid.update(d["real_img"], d["fake_img"])
    results = {name: float(m.compute()) for name, m in (("akd", akd), ("mkr", mkr), ("aed", aed), ("l1", l1))}
    results["fid"] = float(fid.compute())
    with akd.sync_context():  # the skipped count summed over ranks (compute() restores local states after)
        results["akd_skipped"] = int(akd.skipped)
    return results


def _worker(rank: int, init_file: str, results: multiprocessing.Queue) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        results.put((rank, _rank_results(_data(), SHARES[rank])))
    except Exception as exc:  # report instead of hanging the parent
        results.put((rank, repr(exc)))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_two_ranks_compute_the_same_as_one_process_on_all_frames(tmp_path):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(rank, str(tmp_path / "init"), results)) for rank in range(WORLD)
    ]
    for worker in workers:
        worker.start()
    try:
        gathered = dict(results.get(timeout=120) for _ in range(WORLD))
    except queue_module.Empty:
        pytest.fail("distributed workers did not answer within 120 s")
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    data = _data()
    expected = {
        "akd": average_keypoint_distance(
            data["real_kp"], data["fake_kp"], data["real_found"], data["fake_found"]
        ),
        "mkr": missing_keypoint_rate(data["real_found"], data["fake_found"]),
        "aed": average_euclidean_distance(data["real_emb"], data["fake_emb"]),
        "l1": l1_distance(data["real_img"], data["fake_img"]),
        "fid": frechet_feature_distance(MeanColour()(data["real_img"]), MeanColour()(data["fake_img"])),
    }
    single = _rank_results(data, SHARES[0])  # one rank alone differs: the reduction is what makes them agree
    for rank in range(WORLD):
        assert isinstance(gathered[rank], dict), gathered[rank]
        for name, value in expected.items():
            assert gathered[rank][name] == pytest.approx(float(value), rel=1e-6), (rank, name)
        assert gathered[rank]["akd_skipped"] == 1
    assert single["fid"] != pytest.approx(float(expected["fid"]), rel=1e-3)
    assert single["akd"] != pytest.approx(float(expected["akd"]), rel=1e-3)
