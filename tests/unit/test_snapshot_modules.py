"""Your own model code in snapshots (LAZARUS_SNAPSHOT_MODULES): what the restricted unpickler
admits from listed modules, the setting, the signed manifest, and who refuses what."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from river import compose

from lazarus.errors import ConfigError, SnapshotRejected
from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.opening import load_model, open_model
from lazarus.registry.safe_pickle import DENIED_MODULES, ModuleNotLoadable, safe_loads
from lazarus.registry.sealing import SealedSnapshot, environment, seal, unseal, verify
from lazarus.registry.signing import Verifier, generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.settings import Settings, load_settings
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.servable import UnservableModel, check_fresh
from lazarus.trainer.specs import habitat
from tests import custom_models
from tests.custom_models import MODULE, centroid_pipeline, make_spec, squash
from tests.unit.test_publishing import learn
from tests.unit.test_registry import fields, signer

MARKER = Path("/tmp/lazarus-pwned-marker")


def global_ref(module: str, name: str) -> bytes:
    """A pickle that only looks up `module.name` (protocol 0's GLOBAL)."""
    return f"c{module}\n{name}\n.".encode()


def calls(module: str, name: str, arg: str) -> bytes:
    """A pickle that calls `module.name(arg)` while loading."""
    return f"c{module}\n{name}\n(S'{arg}'\ntR.".encode()


def trained_pipeline() -> object:
    model = centroid_pipeline()
    for i in range(20):
        model.learn_one({"a": float(i), "b": float(-i)}, i % 2 == 0)
    return model


# -- the loader ---------------------------------------------------------------------------------


def test_classes_and_functions_of_a_listed_module_load() -> None:
    data = canonical_dumps(trained_pipeline())
    with pytest.raises(ModuleNotLoadable, match="add its module to LAZARUS_SNAPSHOT_MODULES"):
        safe_loads(data)
    model = safe_loads(data, [MODULE])
    assert model.predict_proba_one({"a": 3.0, "b": -3.0}) == pytest.approx(
        trained_pipeline().predict_proba_one({"a": 3.0, "b": -3.0})  # type: ignore[attr-defined]
    )
    transformer = safe_loads(pickle.dumps(compose.FuncTransformer(squash)), [MODULE])
    assert transformer.func is squash


def test_a_prefix_admits_its_submodules_by_whole_dotted_parts() -> None:
    assert safe_loads(global_ref(MODULE, "squash"), ["tests"]) is squash
    with pytest.raises(ModuleNotLoadable, match="not on the allowlist"):
        safe_loads(global_ref(MODULE, "squash"), ["tests.custom"])


def test_what_a_listed_module_imports_is_refused() -> None:
    assert vars(custom_models)["sqrt"].__module__ == "math"  # imported there, not defined there
    with pytest.raises(ModuleNotLoadable, match="defined in math, not in LAZARUS_SNAPSHOT_MODULES"):
        safe_loads(global_ref(MODULE, "sqrt"), [MODULE])
    with pytest.raises(ModuleNotLoadable, match="a str: only classes and functions"):
        safe_loads(global_ref(MODULE, "MODULE"), [MODULE])


def test_a_re_exported_os_system_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "evilpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("from os import system\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    MARKER.unlink(missing_ok=True)
    with pytest.raises(ModuleNotLoadable, match=r"evilpkg\.models\.system, which is defined in"):
        safe_loads(calls("evilpkg.models", "system", f"touch {MARKER}"), ["evilpkg.models"])
    assert not MARKER.exists()


@pytest.mark.parametrize("denied", ["os", "builtins", "subprocess", "numpy", "river.datasets"])
def test_a_denied_module_stays_refused_even_if_passed_in(denied: str) -> None:
    name = {"os": "system", "builtins": "eval", "subprocess": "getoutput"}.get(denied, "x")
    MARKER.unlink(missing_ok=True)
    with pytest.raises(SnapshotRejected):
        safe_loads(calls(denied, name, f"touch {MARKER}"), [denied])
    assert not MARKER.exists()


def test_an_unimportable_module_is_named() -> None:
    with pytest.raises(ModuleNotLoadable, match=r"nopkg\.models does not import here"):
        safe_loads(global_ref("nopkg.models", "Model"), ["nopkg"])


# -- the setting ---------------------------------------------------------------------------------


def test_the_setting_is_comma_separated_and_goes_to_children(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAZARUS_SNAPSHOT_MODULES", " mypkg.models, other.pkg ,,mypkg.models")
    s = load_settings()
    assert s.snapshot_modules == ("mypkg.models", "other.pkg")
    assert s.masked()["snapshot_modules"] == "mypkg.models,other.pkg"
    for key, value in s.child_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == s
    monkeypatch.setenv("LAZARUS_SNAPSHOT_MODULES", "")
    assert load_settings().snapshot_modules == ()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("os", "'os' is denied"),
        ("mypkg.models,subprocess", "'subprocess' is denied"),
        ("importlib.util", "'importlib.util' is under importlib"),
        ("river.datasets.synth", "under river.datasets"),
        ("lazarus.trainer", "under lazarus"),
        ("my-pkg.models", "not a dotted module name"),
        ("mypkg..models", "not a dotted module name"),
        ("mypkg.class", "not a dotted module name"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("LAZARUS_SNAPSHOT_MODULES", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith("setting LAZARUS_SNAPSHOT_MODULES is invalid: ") and why in line
    assert "\n" not in line


def test_the_docs_list_every_denied_module() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "trainer.md").read_text(encoding="utf-8")
    section = docs[docs.index("**What can never be listed.**") :][:1200]
    assert [m for m in DENIED_MODULES if f"`{m}`" not in section] == []
    for name in ("builtins", "os", "subprocess", "sys", "importlib", "pickle", "river.datasets"):
        assert name in DENIED_MODULES  # the ones the issue names


# -- the manifest and the scorer's side ----------------------------------------------------------


def test_the_modules_are_signed_and_older_manifests_have_none() -> None:
    s = signer()
    plain, manifest = seal({"a": 1}, fields(), s)
    assert manifest.snapshot_modules == () and b"snapshot_modules" not in plain.manifest
    sealed, manifest = seal({"a": 1}, {**fields(), "snapshot_modules": [MODULE]}, s)
    assert verify(sealed, s.verifier).snapshot_modules == (MODULE,)
    widened = sealed.manifest.replace(MODULE.encode(), b"tests")
    with pytest.raises(SnapshotRejected, match="signature does not verify"):
        verify(replace(sealed, manifest=widened), s.verifier)
    older = SnapshotManifest.model_validate_json(plain.manifest)  # no field at all
    assert older.snapshot_modules == ()


def sealed_centroid(modules: tuple[str, ...]) -> tuple[SealedSnapshot, Verifier, str]:
    s = signer()
    sealed, manifest = seal(
        {"a": 1},
        {**fields(), "environment": environment(), "snapshot_modules": list(modules)},
        s,
        serving=trained_pipeline(),
    )
    return sealed, s.verifier, manifest.schema_fingerprint


def test_a_scorer_loads_only_the_modules_both_sides_allow() -> None:
    sealed, verifier, fingerprint = sealed_centroid((MODULE,))

    def open_with(modules: list[str]) -> object:
        return open_model(
            sealed, verifier, model="habitat", version=1, fingerprint=fingerprint, modules=modules
        )[1]

    model = open_with(["tests"])  # a prefix of the manifest's module covers it
    assert model.predict_one({"a": 2.0, "b": -2.0}) is True  # type: ignore[attr-defined]
    with pytest.raises(ModuleNotLoadable) as caught:  # the scorer does not list it
        open_with(["other.pkg"])
    assert f"module {MODULE}" in str(caught.value)
    assert "LAZARUS_SNAPSHOT_MODULES does not" in str(caught.value)


def test_a_scorer_that_lists_the_module_still_refuses_a_manifest_without_it() -> None:
    sealed, verifier, _ = sealed_centroid(())
    manifest = verify(sealed, verifier, part="model")
    with pytest.raises(ModuleNotLoadable, match=f"{MODULE}.squash, which is not on the allowlist"):
        load_model(sealed, manifest, [MODULE])


# -- the trainer's side ---------------------------------------------------------------------------


def test_the_trainer_refuses_at_start_what_scorers_would_refuse() -> None:
    with pytest.raises(UnservableModel) as caught:
        check_fresh(make_spec(), ())
    line = str(caught.value)
    assert line.startswith("cannot train centroid: scorers would refuse its model: ")
    assert f"{MODULE}." in line and "add its module to LAZARUS_SNAPSHOT_MODULES" in line
    assert isinstance(caught.value, ConfigError)  # the CLI exits 2
    check_fresh(make_spec(), [MODULE])
    check_fresh(habitat(), ())


def test_nothing_is_published_that_scorers_would_refuse() -> None:
    store, key, spec = MemorySnapshotStore(), parse_private(generate()[0]), make_spec()
    learner = Learner(spec)
    learn(learner, 30)
    publisher = SnapshotPublisher(store, spec, key, 1, keep=5)
    with pytest.raises(UnservableModel, match="cannot publish centroid v1: scorers would refuse"):
        publisher.publish(learner)
    assert store.versions("centroid") == []


def test_a_listed_module_is_recorded_published_and_resumed() -> None:
    store, key, spec = MemorySnapshotStore(), parse_private(generate()[0]), make_spec()
    learner = Learner(spec)
    learn(learner, 30)
    manifest = SnapshotPublisher(store, spec, key, 1, keep=5, modules=[MODULE]).publish(learner)
    assert manifest is not None and manifest.snapshot_modules == (MODULE,)
    assert store.current("centroid") == 1
    sealed = store.get("centroid", 1)
    assert sealed is not None
    with pytest.raises(SnapshotRejected, match="add its module to LAZARUS_SNAPSHOT_MODULES"):
        unseal(sealed, key.verifier)
    with pytest.raises(SnapshotRejected, match="cannot be resumed"):
        restore(store, spec, key, from_beginning=False)
    resumed, next_version = restore(store, spec, key, from_beginning=False, modules=[MODULE])
    assert next_version == 2 and resumed.state.n_learned == learner.state.n_learned
