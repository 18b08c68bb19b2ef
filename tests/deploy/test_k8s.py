"""Static checks of the deployment files under deploy/ (Kubernetes + Docker).

Nothing here talks to a cluster or a Docker daemon:

* the kustomizations are rendered with ``kubectl kustomize`` (skipped when
  kubectl is not on PATH) and the resulting objects are checked: job kind and
  API version, the training command, replica counts, resources, images, and the
  run-folder volume;
* the YAML files and the references between kustomizations are checked with
  pyyaml alone;
* the Dockerfiles are checked as text for the one invariant that decides the
  image size: torch (CPU build for the CPU image) is installed *before* the
  package, so pip never resolves torch from PyPI.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DOCKER = DEPLOY / "docker"

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

RECIPE = "margin_digits"
TORCH_VERSION = "2.13.0"
RUNS_MOUNT = "/runs"
PVC_NAME = "paperzoo-runs"

# Variables the Kubeflow training operator (v1.7+) injects into PyTorchJob
# containers; $(VAR) references to them are resolved by Kubernetes at run time.
OPERATOR_ENV = {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK"}

# What each PyTorchJob kustomization must render to.
PYTORCHJOB_CASES = {
    "base": {
        "replicas": {"Master": 1, "Worker": 1},
        "device": "cpu",
        "gpus_per_pod": 0,
        "image": "paperzoo:latest",
        "pull_policy": "IfNotPresent",
    },
    "overlays/minikube-cpu": {
        "replicas": {"Master": 1, "Worker": 1},
        "device": "cpu",
        "gpus_per_pod": 0,
        "image": "paperzoo:latest",
        "pull_policy": "Never",
    },
    "overlays/gpu": {
        "replicas": {"Master": 1, "Worker": 3},
        "device": "cuda",
        "gpus_per_pod": 1,
        "image": "registry.example.com/paperzoo/paperzoo-gpu:latest",
        "pull_policy": "IfNotPresent",
    },
}


# --------------------------------------------------------------------------- helpers


@functools.cache
def render(rel: str) -> tuple[dict, ...]:
    """``kubectl kustomize deploy/k8s/<rel>``, parsed (cached: the objects must not be mutated)."""
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / rel)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {rel} failed:\n{proc.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def only(docs, kind: str) -> dict:
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def pytorch_pods(job: dict) -> dict[str, dict]:
    """Replica type -> pod spec of a PyTorchJob."""
    return {rtype: spec["template"]["spec"] for rtype, spec in job["spec"]["pytorchReplicaSpecs"].items()}


def container(pod: dict, name: str) -> dict:
    matches = [c for c in pod["containers"] if c["name"] == name]
    assert len(matches) == 1, f"expected one container named {name!r} in {[c['name'] for c in pod['containers']]}"
    return matches[0]


_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(value: str, env: list[dict]) -> str:
    """Resolve $(VAR) like the kubelet does, for variables with a literal value in ``env``."""
    literal = {e["name"]: str(e["value"]) for e in env or () if "value" in e}
    return _REF.sub(lambda m: literal.get(m.group(1), m.group(0)), value)


def argv(c: dict) -> list[str]:
    return [expand(str(a), c.get("env", [])) for a in [*c.get("command", []), *c.get("args", [])]]


def flag(args: list[str], name: str) -> str | None:
    """Value of ``--name VALUE`` or ``--name=VALUE`` (last occurrence wins, as with argparse)."""
    value = None
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(name + "="):
            value = a.split("=", 1)[1]
    return value


def contains_seq(seq: list[str], sub: list[str]) -> bool:
    return any(seq[i : i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def check_training_command(args: list[str], device: str) -> None:
    assert contains_seq(args, ["paperzoo", "train", RECIPE]), args
    out = flag(args, "--out")
    assert out is not None and out.startswith(RUNS_MOUNT + "/") and len(out) > len(RUNS_MOUNT) + 1, args
    assert flag(args, "--resume") == "auto", args
    assert flag(args, "--device") == device, args


def cpu_cores(q) -> float:
    s = str(q)
    return int(s[:-1]) / 1000 if s.endswith("m") else float(s)


_MEM = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def mem_bytes(q) -> float:
    s = str(q)
    for suffix, factor in _MEM.items():
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * factor
    return float(s)


def runs_claim(pod: dict, container_name: str) -> str:
    """Claim name of the volume mounted at /runs in the given container of ``pod``."""
    c = container(pod, container_name)
    mounts = [m for m in c.get("volumeMounts", []) if m["mountPath"] == RUNS_MOUNT]
    assert len(mounts) == 1, f"{container_name}: nothing (or several things) mounted at {RUNS_MOUNT}"
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    vol = volumes.get(mounts[0]["name"])
    assert vol is not None and "persistentVolumeClaim" in vol, f"{RUNS_MOUNT} is not backed by a PVC: {vol}"
    return vol["persistentVolumeClaim"]["claimName"]


# --------------------------------------------------------------------------- PyTorchJob (training operator v1)


@needs_kubectl
@pytest.mark.parametrize("rel", sorted(PYTORCHJOB_CASES))
class TestPyTorchJob:
    def test_kind_and_replicas(self, rel):
        case = PYTORCHJOB_CASES[rel]
        job = only(render(rel), "PyTorchJob")
        assert job["apiVersion"] == "kubeflow.org/v1"
        specs = job["spec"]["pytorchReplicaSpecs"]
        assert {rtype: s["replicas"] for rtype, s in specs.items()} == case["replicas"]
        for rtype, s in specs.items():
            assert s.get("restartPolicy") == "OnFailure", rtype
        # One process per pod: per GPU on the GPU overlay; never "auto" (= one per core on CPU nodes).
        assert job["spec"]["nprocPerNode"] == str(max(1, case["gpus_per_pod"]))

    def test_command(self, rel):
        case = PYTORCHJOB_CASES[rel]
        job = only(render(rel), "PyTorchJob")
        per_replica = {}
        for rtype, pod in pytorch_pods(job).items():
            # The operator injects its variables into, and reads the port of, the container named "pytorch".
            c = container(pod, "pytorch")
            args = argv(c)
            assert args[0] == "torchrun", args
            assert contains_seq(args, ["-m", "paperzoo", "train", RECIPE]), args
            check_training_command(args, case["device"])
            # Multi-node rendezvous comes from the operator's variables.
            assert flag(args, "--nnodes") == "$(PET_NNODES)"
            assert flag(args, "--nproc-per-node") == "$(PET_NPROC_PER_NODE)"
            assert flag(args, "--node-rank") in {"$(RANK)", "$(PET_NODE_RANK)"}
            assert flag(args, "--master-addr") == "$(MASTER_ADDR)"
            assert flag(args, "--master-port") == "$(MASTER_PORT)"
            # No reference is left that neither the manifest nor the operator defines
            # (Kubernetes would pass it through literally).
            dangling = set(_REF.findall(" ".join(args))) - OPERATOR_ENV
            assert not dangling, f"{rtype}: undefined variables {dangling}"
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            assert "pytorchjob-port" in ports
            per_replica[rtype] = args
        # Master and workers run the very same training (same run folder, same flags).
        assert len({tuple(a) for a in per_replica.values()}) == 1, per_replica

    def test_resources(self, rel):
        case = PYTORCHJOB_CASES[rel]
        job = only(render(rel), "PyTorchJob")
        total_cpu = total_mem = 0.0
        for rtype, pod in pytorch_pods(job).items():
            res = container(pod, "pytorch")["resources"]
            requests, limits = res.get("requests", {}), res.get("limits", {})
            for key in ("cpu", "memory"):
                assert key in requests and key in limits, f"{rtype}: {key} request/limit missing"
            assert cpu_cores(requests["cpu"]) <= cpu_cores(limits["cpu"])
            assert mem_bytes(requests["memory"]) <= mem_bytes(limits["memory"])
            n = job["spec"]["pytorchReplicaSpecs"][rtype]["replicas"]
            total_cpu += n * cpu_cores(requests["cpu"])
            total_mem += n * mem_bytes(requests["memory"])
            if case["gpus_per_pod"]:
                assert int(limits.get("nvidia.com/gpu", 0)) == case["gpus_per_pod"], f"{rtype}: GPU limit"
                assert pod.get("nodeSelector"), f"{rtype}: GPU pods need a nodeSelector"
                assert any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])), rtype
            else:
                assert "nvidia.com/gpu" not in requests and "nvidia.com/gpu" not in limits, rtype
        if rel == "overlays/minikube-cpu":
            # Must fit `minikube start --cpus 4 --memory 8g` next to the system pods and the operator.
            assert total_cpu <= 1.5, total_cpu
            assert total_mem <= 3 * 2**30, total_mem

    def test_image(self, rel):
        case = PYTORCHJOB_CASES[rel]
        job = only(render(rel), "PyTorchJob")
        for rtype, pod in pytorch_pods(job).items():
            c = container(pod, "pytorch")
            assert c["image"] == case["image"], rtype
            assert c.get("imagePullPolicy") == case["pull_policy"], rtype

    def test_runs_volume(self, rel):
        docs = render(rel)
        pvc = only(docs, "PersistentVolumeClaim")
        assert pvc["metadata"]["name"] == PVC_NAME
        assert pvc["spec"]["resources"]["requests"]["storage"]
        for rtype, pod in pytorch_pods(only(docs, "PyTorchJob")).items():
            assert runs_claim(pod, "pytorch") == PVC_NAME, rtype
            sc = pod.get("securityContext", {})
            assert sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, rtype
            assert sc.get("fsGroup"), f"{rtype}: fsGroup makes the volume writable for the non-root user"
        modes = pvc["spec"]["accessModes"]
        if rel == "overlays/gpu":
            assert "ReadWriteMany" in modes  # pods on several nodes share the run folder
        if rel == "overlays/minikube-cpu":
            assert pvc["spec"].get("storageClassName") == "standard"


# --------------------------------------------------------------------------- TrainJob (Kubeflow Trainer v2)


@needs_kubectl
def test_trainjob():
    docs = render("trainjob")
    job = only(docs, "TrainJob")
    assert job["apiVersion"] == "trainer.kubeflow.org/v1alpha1"
    assert job["spec"]["runtimeRef"]["name"] == "torch-distributed"
    trainer = job["spec"]["trainer"]
    assert isinstance(trainer["numNodes"], int) and trainer["numNodes"] >= 1
    assert trainer.get("numProcPerNode") == 1
    assert trainer["resourcesPerNode"]["requests"]["cpu"]
    assert "nvidia.com/gpu" not in trainer["resourcesPerNode"].get("limits", {})
    args = [*trainer.get("command", []), *trainer.get("args", [])]
    assert args[:4] == ["torchrun", "-m", "paperzoo", "train"], args
    check_training_command(args, "cpu")
    # The images: transformer reaches spec.trainer.image only through kustomizeconfig.yaml.
    assert trainer["image"] == "paperzoo:local"

    pvc = only(docs, "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == PVC_NAME
    (patch,) = job["spec"]["runtimePatches"]
    jobs = {j["name"]: j for j in patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]}
    pod = jobs["node"]["template"]["spec"]["template"]["spec"]
    assert runs_claim(pod, "node") == PVC_NAME


@needs_kubectl
def test_runs_shell_tool_mounts_the_same_claim():
    pod = only(render("tools"), "Pod")
    assert runs_claim(pod["spec"], "shell") == PVC_NAME
    assert pod["spec"]["containers"][0]["image"] == "paperzoo:latest"


# --------------------------------------------------------------------------- files (no kubectl needed)

YAML_FILES = sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")])
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))


def test_deploy_tree_exists():
    assert KUSTOMIZATIONS, "no kustomization.yaml under deploy/k8s"
    for rel in [*PYTORCHJOB_CASES, "trainjob", "storage", "tools"]:
        assert (K8S / rel / "kustomization.yaml").is_file(), rel


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(K8S)))
def test_yaml_parses(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} is empty"


def _kustomization_refs(kust: dict) -> list[str]:
    refs = [*kust.get("resources", []), *kust.get("components", []), *kust.get("configurations", [])]
    refs += kust.get("patchesStrategicMerge", [])
    refs += [p["path"] for p in kust.get("patches", []) if "path" in p]
    refs += [p["path"] for p in kust.get("patchesJson6902", []) if "path" in p]
    return [r for r in refs if "://" not in r and not r.startswith("github.com/")]


@pytest.mark.parametrize("kpath", KUSTOMIZATIONS, ids=lambda p: str(p.parent.relative_to(K8S)))
def test_kustomization_references_exist(kpath):
    kust = yaml.safe_load(kpath.read_text())
    assert kust.get("kind", "Kustomization") == "Kustomization"
    refs = _kustomization_refs(kust)
    for ref in refs:
        target = (kpath.parent / ref).resolve()
        assert target.exists(), f"{kpath.relative_to(REPO)} names missing {ref}"
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{ref} is a directory without kustomization.yaml"
    # ... and every YAML file next to it is used (a forgotten patch would silently not apply).
    used = {(kpath.parent / r).resolve() for r in refs}
    for sibling in kpath.parent.glob("*.y*ml"):
        if sibling.name != "kustomization.yaml":
            assert sibling.resolve() in used, f"{sibling.relative_to(REPO)} is not referenced by its kustomization"


# --------------------------------------------------------------------------- Dockerfiles


def _instructions(dockerfile: Path) -> list[str]:
    """Logical instructions: comments dropped, backslash continuations joined."""
    out, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return out


def _final_stage(instrs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Instructions of the last stage, and ARG defaults visible in it (global + stage)."""
    froms = [i for i, s in enumerate(instrs) if s.upper().startswith("FROM ")]
    assert froms, "no FROM"
    args = {}
    for s in instrs[: froms[0]] + instrs[froms[-1] :]:
        m = re.match(r"ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$", s, re.IGNORECASE)
        if m and m.group(2) is not None:
            args[m.group(1)] = m.group(2).strip().strip('"')
    return instrs[froms[-1] :], args


def _subst(s: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), s)


def _pip_installs(instr: str, args: dict[str, str]) -> list[list[str]]:
    """Argument lists of the ``pip install`` commands in one RUN instruction."""
    found = []
    for segment in re.split(r"&&|;|\|\||\bthen\b|\belse\b|\bfi\b", instr[len("RUN") :]):
        try:
            words = shlex.split(_subst(segment, args))
        except ValueError:
            continue
        for i in range(len(words) - 1):
            if words[i].endswith("pip") and words[i + 1] == "install":
                found.append(words[i + 2 :])
    return found


def _is_torch(word: str) -> bool:
    return re.fullmatch(r"torch(==.*)?", word) is not None


def _is_package(word: str) -> bool:
    return word == "." or word.startswith(".[")


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_installs_torch_before_package(name):
    stage, args = _final_stage(_instructions(DOCKER / name))
    torch_at, package_at = [], []
    for i, instr in enumerate(stage):
        if not instr.upper().startswith("RUN "):
            continue
        for words in _pip_installs(instr, args):
            if any(_is_torch(w) for w in words):
                torch_at.append(i)
                assert f"torch=={TORCH_VERSION}" in words, f"torch is not pinned to {TORCH_VERSION}: {words}"
                assert "--index-url" in words, "torch must come from the PyTorch wheel index"
                index = words[words.index("--index-url") + 1]
                if name == "Dockerfile":
                    assert index.rstrip("/").endswith("/whl/cpu"), f"CPU image must use the CPU wheel index: {index}"
            if any(_is_package(w) for w in words):
                package_at.append(i)
    assert torch_at, f"{name}: no `pip install torch==...` in the final stage"
    assert package_at, f"{name}: no `pip install .` in the final stage"
    assert max(torch_at) < min(package_at), f"{name}: torch must be installed before the package"


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_runtime_settings(name):
    stage, _ = _final_stage(_instructions(DOCKER / name))
    users = [s.split(None, 1)[1] for s in stage if s.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "the image must run as a non-root user"
    entrypoints = [s for s in stage if s.upper().startswith("ENTRYPOINT ")]
    assert entrypoints and "paperzoo" in entrypoints[-1]
    assert any(s.upper().startswith("VOLUME ") and RUNS_MOUNT in s for s in stage)
    assert any(s.upper().startswith("WORKDIR ") and s.split()[1] == RUNS_MOUNT for s in stage)


def test_dockerfile_torch_matches_pyproject_pin():
    """The image's torch must satisfy the package's own pin (or pip would swap it)."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = REPO / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("no pyproject.toml")
    deps = tomllib.loads(pyproject.read_text()).get("project", {}).get("dependencies", [])
    pins = [re.sub(r"\s", "", d).split(";")[0] for d in deps if re.match(r"torch\s*==", d)]
    if not pins:
        pytest.skip("pyproject.toml does not pin torch exactly")
    assert pins[0] == f"torch=={TORCH_VERSION}", pins
