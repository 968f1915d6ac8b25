"""The package behaves like a Python library: wrong types are TypeErrors naming the parameter,
bad values ValueErrors naming key and value, nothing is created that was not asked for, one
call goes from a model and a loader to a report, verdicts read as plain sentences, and the
modules import one another without a cycle."""

import ast
import math
import os
from pathlib import Path

import pytest

from conftest import need

import snnergy  # noqa: E402

NAN = float("nan")


@pytest.mark.parametrize("make, error, message", [
    (lambda: snnergy.Activity.uniform([0.05, NAN]), ValueError, r"spike_rates\[1\] = nan"),
    (lambda: snnergy.Activity.uniform("0.05"), TypeError, "spike_rates must be a list of numbers"),
    (lambda: snnergy.Pipeline("vgg11", timesteps="6"), TypeError, "timesteps must be .* not the string '6'"),
    (lambda: snnergy.Pipeline("vgg11", timesteps=[6, 2.5]), TypeError, r"timesteps\[1\] must be a whole number"),
    (lambda: snnergy.Pipeline("vgg11", timesteps=0), ValueError, "timesteps = 0"),
    (lambda: snnergy.Pipeline("vgg11", weight_bits=NAN), ValueError, "weight_bits = nan"),
    (lambda: snnergy.Pipeline("vgg11", architectures=[42]), TypeError, "architectures must hold"),
    (lambda: snnergy.Pipeline(42), TypeError, "workload must be a snnergy.Workload"),
    (lambda: snnergy.Architecture("classical", clock_mhz=float("inf")), ValueError, "clock_mhz = inf"),
    (lambda: snnergy.run({"analysis": {"timesteps": 6}, "activity": {"type": "uniform", "spike_rates": [NAN]}}),
     ValueError, r"activity.spike_rates\[0\] = nan"),
    (lambda: snnergy.run(42), TypeError, "pipeline must be"),
    (lambda: snnergy.ProfileLayer("conv", NAN), ValueError, "layer 'conv': spike_rate = nan"),
    (lambda: snnergy.ProfileLayer("conv", 0.1, nonzero="high"), TypeError, "layer 'conv': nonzero must be a number"),
])
def test_wrong_types_and_values_are_errors_naming_the_parameter(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_verdicts_are_plain_sentences_and_the_markdown_stays_for_the_report(tmp_path):
    report = snnergy.Pipeline("vgg11", snnergy.Activity.uniform([0.05]), ["classical"]).run(write=True,
                                                                                            out=tmp_path)
    assert report.verdicts and not any("**" in v for v in report.verdicts)
    assert report.verdicts_markdown[0].startswith("**classical**")
    assert report.verdicts_markdown[0] in (tmp_path / "report.md").read_text()


def test_nothing_is_created_that_was_not_asked_for(tmp_path):
    torch = need("torch")
    import snnergy.torch as st

    missing = tmp_path / "no-such-folder" / "w.safetensors"
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        st.save_weights(torch.nn.Linear(2, 2), missing)
    profile = snnergy.Profile([snnergy.ProfileLayer("fc", 0.1, 0.2)], timesteps=6)
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        profile.save(tmp_path / "no-such-folder" / "p.json")
    assert list(tmp_path.iterdir()) == []
    # What is written gets the mode every new file gets, not a private one.
    mask = os.umask(0)
    os.umask(mask)
    for p in (st.save_weights(torch.nn.Linear(2, 2), tmp_path / "w.safetensors"), profile.save(tmp_path / "p.json")):
        assert os.stat(p).st_mode & 0o777 == 0o666 & ~mask


def _snn():
    torch = need("torch")
    snn = need("snntorch")
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 10), snn.Leaky(beta=0.9, init_hidden=True, output=True),
    ).eval()


def _loader(n=8):
    torch = need("torch")
    g = torch.Generator().manual_seed(1)
    return [(torch.rand(4, 1, 8, 8, generator=g) * 2, torch.zeros(4)) for _ in range(n // 4)]


def test_one_call_goes_from_a_model_and_a_loader_to_a_report():
    import snnergy.torch as st

    report = st.analyze(_snn(), _loader(), timesteps=[2, 4], architectures=["classical", "neuromorphic"])
    assert {(c.architecture, c.timesteps) for c in report.comparisons} == {
        (a, t) for a in ("classical", "neuromorphic") for t in (2, 4)}
    assert report.verdict and report.notes and "recorded" in report.notes[0]
    assert all(0 <= c.spike_rate <= 1 for c in report.comparisons)


def test_the_torch_helpers_name_what_they_were_given_wrongly():
    torch = need("torch")
    import snnergy.torch as st

    with pytest.raises(TypeError, match="model must be a torch.nn.Module, not str"):
        st.workload("vgg16", torch.zeros(1, 1, 8, 8))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, not str"):
        st.record("vgg16", _loader(), timesteps=4)
    with pytest.raises(TypeError, match="timesteps must be a whole number of time steps, not str '6'"):
        st.record(_snn(), _loader(), timesteps="6")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, not str"):
        st.analyze("vgg16", _loader())
    with pytest.raises(TypeError, match="loader must be re-iterable"):
        st.analyze(_snn(), iter(_loader()))


def test_images_that_are_not_finite_are_refused():
    torch = need("torch")
    import snnergy.torch as st

    loader = _loader()
    loader[1][0][2, 0, 3, 3] = NAN
    with pytest.raises(ValueError, match="batch 1 of the loader holds nan"):
        st.record(_snn(), loader, timesteps=2)
    with pytest.raises(ValueError, match="holds nan"):
        st.analyze(_snn(), loader, timesteps=2)
    assert math.isnan(loader[1][0][2, 0, 3, 3].item())


def _imports(path: Path):
    """The package's modules a module imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(a.name for a in node.names)
    return names


def test_the_package_modules_import_one_another_without_a_cycle():
    folder = Path(snnergy.__file__).parent
    graph = {p.stem: _imports(p) & {q.stem for q in folder.glob("*.py")} for p in folder.glob("*.py")}
    graph.pop("__init__", None)

    def visit(m, path):
        for n in graph.get(m, ()):
            assert n not in path, f"import cycle: {' → '.join(path + [n])}"
            visit(n, path + [n])

    for m in graph:
        visit(m, [m])
