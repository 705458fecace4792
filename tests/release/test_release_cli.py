"""The release commands end to end: each step edits a copy of the catalog and prints a readable preview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelstack.cli.commands.release import promote, render_with_catalog, retire, rollback
from modelstack.engine.diff import Action, plan, read_render

# The new version of the walk: vision-detector v8, with its own smoke test, inserted after v7's block.
V8 = """      v8:
        image: registry.ml.example.com/vision/detector-triton@sha256:{digest}
        weight: 0
        nodePool: gpu-h100-mig
        resources: {{cpu: "4", memory: 16Gi, gpu: 1, migProfile: 3g.40gb}}
        replicas: {{min: 1, max: 2}}
        precision: fp16
        loadTimeoutSeconds: 300
        args: [tritonserver, --model-repository=/models, --strict-readiness=true]
        modelWeights:
          image: registry.ml.example.com/vision/detector-weights@sha256:{digest}
          mountPath: /models
        smokeTest:
          requests:
            - name: golden-shelf
              path: /v2/models/detector/infer
              body: {{inputs: [{{name: images, shape: [1, 4], datatype: FP32, data: [0.1, 0.2, 0.3, 0.4]}}]}}
              expect: {{outputs.0.data: [0.91, 0.02, 0.07]}}
              tolerance: {{abs: 0.02}}
""".format(digest="ab" * 32)


def _render(catalog: Path, work: Path) -> dict:
    return read_render(render_with_catalog(catalog.parent, "dev", catalog, work))


def _invoke(command, *args: str):
    result = CliRunner().invoke(command, [*args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_project(monkeypatch, catalog_copy):
    monkeypatch.chdir(catalog_copy.parent)  # the commands find Pulumi.<stack>.yaml like `pulumi` does


def test_weight_only_change_updates_only_the_virtual_service(catalog_copy, tmp_path):
    before = _render(catalog_copy, tmp_path / "before")
    code, _, _ = _invoke(promote, "llm-chat", "v2", "--weight", "50", "--catalog", str(catalog_copy))
    assert code == 0
    result = plan(before, _render(catalog_copy, tmp_path / "after"))
    assert [(s.action, s.kind, s.key.rsplit("/", 1)[1]) for s in result.steps] == [
        (Action.UPDATE, "VirtualService", "llm-chat.yaml")
    ]
    assert [c.path for c in result.steps[0].changes] == [
        "spec.http[weighted].route[v1].weight",
        "spec.http[weighted].route[v2].weight",
    ]


def test_promote_prints_the_new_weights_and_the_preview(catalog_copy):
    code, out, _ = _invoke(promote, "llm-chat", "v2", "--weight", "50", "--catalog", str(catalog_copy))
    assert code == 0
    assert out.splitlines()[0] == "llm-chat: v1 90 → 50, v2 10 → 50"
    assert "~ update   ml-dev/VirtualService.networking.istio.io/llm-chat" in out
    assert "spec.http[weighted].route[v1].weight: 90 → 50" in out
    assert re.fullmatch(r"Resources: 1 to update, \d+ unchanged", out.rstrip().splitlines()[-1])


def test_dry_run_previews_without_writing(catalog_copy):
    original = catalog_copy.read_text()
    code, out, _ = _invoke(
        promote, "llm-chat", "v2", "--weight", "50", "--catalog", str(catalog_copy), "--dry-run"
    )
    assert code == 0 and "would write" in out
    assert catalog_copy.read_text() == original


@pytest.mark.parametrize(
    ("command", "args", "reason"),
    [
        (promote, ["llm-chat", "v9", "--weight", "10"], "no version 'v9'"),
        (promote, ["text-embedder", "v1", "--weight", "50"], "only version"),
        (retire, ["llm-chat", "v1"], "still has weight 90"),
        (retire, ["text-embedder", "v1"], "last version"),
        (rollback, ["text-embedder"], "nothing to roll back to"),
    ],
)
def test_refusals_exit_2_and_write_nothing(catalog_copy, command, args, reason):
    original = catalog_copy.read_text()
    code, _, err = _invoke(command, *args, "--catalog", str(catalog_copy))
    assert code == 2
    assert err.startswith("refused: ") and reason in err
    assert catalog_copy.read_text() == original


def test_full_release_walk(catalog_copy, tmp_path):
    """add v8 at 0 (smoke test runs) → 10 → 50 → 100 → retire v7, every step a readable preview."""
    original = catalog_copy.read_text()
    before_add = _render(catalog_copy, tmp_path / "r0")
    marker = "  # A CPU text embedder"
    catalog_copy.write_text(original.replace(marker, V8 + "\n" + marker, 1))
    added = plan(before_add, _render(catalog_copy, tmp_path / "r1"))
    created = {s.key for s in added.steps if s.action is Action.CREATE}
    assert "ml-dev/Deployment.apps/vision-detector-v8.yaml" in created
    assert any(k.startswith("ml-dev/Job.batch/vision-detector-v8-smoke-") for k in created)
    # Weight 0: the new subset exists (its own rule), but the routes do not change until it is promoted.
    assert not any(s.kind == "VirtualService" for s in added.steps)
    assert "ml-dev/DestinationRule.networking.istio.io/vision-detector-v8.yaml" in created
    assert not any(s.kind == "DestinationRule" and s.action is Action.UPDATE for s in added.steps)

    for weight, summary in (
        (10, "v7 100 → 90, v8 0 → 10"),
        (50, "v7 90 → 50, v8 10 → 50"),
        (100, "v7 50 → 0, v8 50 → 100"),
    ):
        code, out, _ = _invoke(
            promote, "vision-detector", "v8", "--weight", str(weight), "--catalog", str(catalog_copy)
        )
        assert code == 0
        assert out.splitlines()[0] == f"vision-detector: {summary}"
        assert "~ update   ml-dev/VirtualService.networking.istio.io/vision-detector" in out
        assert "Resources: 1 to update" in out

    code, out, _ = _invoke(retire, "vision-detector", "v7", "--catalog", str(catalog_copy))
    assert code == 0
    assert out.splitlines()[0] == "vision-detector: v7 0 → retired"
    assert "- delete   ml-dev/Deployment.apps/vision-detector-v7" in out
    assert "- delete   ml-dev/Job.batch/vision-detector-v7-smoke-" in out
    assert "- delete   ml-dev/DestinationRule.networking.istio.io/vision-detector-v7" in out

    final = catalog_copy.read_text()
    assert "detector-triton@sha256:83f56f12" not in final  # v7's image is gone
    assert final.startswith(original.split("models:")[0])  # the header comments are untouched
    assert marker in final
