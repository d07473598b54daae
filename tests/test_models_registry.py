"""The model registry: names, create() with the training defaults, options and their parsing."""
import pytest

from minigen import data, models, nn
from minigen.models import Entry, GenerativeModel


class Dummy(GenerativeModel):
    def __init__(self, shape, width, flag, sizes, name, maybe):
        super().__init__()
        self.settings = dict(shape=shape, width=width, flag=flag, sizes=sizes, name=name,
                             maybe=maybe)


DUMMY_OPTIONS = {"width": (32, "channels"), "flag": (False, "a switch"), "sizes": ((1, 2), "tuple"),
                 "name": ("relu", "a string"), "maybe": (None, "anything or none")}


@pytest.fixture
def dummy(monkeypatch):
    """A throwaway model 'dummy-test' in the registry, removed again after the test."""
    entry = Entry("dummy-test", lambda ds, **o: Dummy(ds.shape, **o), "a test model",
                  DUMMY_OPTIONS, lambda data: {"steps": 7, "lr": 0.5})
    monkeypatch.setitem(models._REGISTRY, "dummy-test", entry)
    return "dummy-test"


def test_names_lists_the_gaussian_baseline_in_lecture_order():
    names = models.names()
    assert "gaussian" in names
    ranks = [models.ORDER.index(n) for n in names if n in models.ORDER]
    assert ranks == sorted(ranks)


def test_every_registered_model_is_created_as_a_generative_module_with_sample():
    for name in models.names():
        try:
            model = models.create(name, "digits")
        except ValueError as exc:     # a model made for other data (domain pairs) must say so
            assert "digits" in str(exc), (name, exc)
            continue
        assert isinstance(model, nn.Module) and callable(model.sample), name
        assert set(models.train_defaults(name, "digits")) == {"steps", "batch_size", "lr"}
        assert set(models.options(name)) == set(models.option_help(name))


def test_create_reads_the_dataset_shape_from_a_name_or_a_loaded_dataset():
    assert models.create("gaussian", "ring8").shape == (2,)
    assert models.create("gaussian", data.load("digits")).shape == (1, 8, 8)
    assert models.create("gaussian").shape == (1, 8, 8)   # digits is the default


def test_create_unknown_model_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown model 'nope'.*gaussian"):
        models.create("nope")


def test_create_unknown_option_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"no option\(s\) depth.*dequantize"):
        models.create("gaussian", "ring8", depth=3)


def test_create_passes_defaults_and_overrides_to_the_factory(dummy):
    model = models.create(dummy, "ring8", width=8)
    assert model.settings == dict(shape=(2,), width=8, flag=False, sizes=(1, 2), name="relu",
                                  maybe=None)
    assert dummy in models.names() and models.describe(dummy) == "a test model"


def test_train_defaults_fill_in_what_the_model_leaves_out(dummy):
    assert models.train_defaults(dummy, "digits") == {"steps": 7, "batch_size": 64, "lr": 0.5}


@pytest.mark.parametrize("key, text, value", [
    ("width", "64", 64), ("flag", "true", True), ("flag", "No", False), ("flag", "1", True),
    ("sizes", "64,128,256", (64, 128, 256)), ("sizes", "(3, 4)", (3, 4)), ("name", "gelu", "gelu"),
    ("maybe", "none", None), ("maybe", "3", 3), ("maybe", "0.5", 0.5), ("maybe", "abc", "abc"),
])
def test_parse_option_types_the_text_like_the_default(dummy, key, text, value):
    parsed = models.parse_option(dummy, key, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("key, text, message", [
    ("width", "wide", "expected int, got 'wide'"),
    ("flag", "maybe", "expected true or false"),
    ("sizes", "1,x", "expected int"),
    ("depth", "3", "no option 'depth'; valid options are width, flag, sizes, name, maybe"),
])
def test_parse_option_rejects_bad_keys_and_values_with_a_sentence(dummy, key, text, message):
    with pytest.raises(ValueError, match=message):
        models.parse_option(dummy, key, text)


def test_register_rejects_options_without_help():
    with pytest.raises(ValueError, match=r"must be \(default, help\)"):
        models.register("bad-test", help="x", options={"width": 3})


def test_register_refuses_a_second_model_under_the_same_name():
    with pytest.raises(ValueError, match="registered twice"):
        models.register("gaussian", help="again")(lambda ds: None)


def test_a_declared_range_refuses_values_outside_it_before_the_factory_runs(monkeypatch):
    built = []
    entry = Entry("ranged-test", lambda ds, **o: built.append(o) or Dummy(ds.shape, **o, flag=0,
                                                                            sizes=0, name=0),
                  "a test model", {"width": (32, "channels", (1, 512)),
                                   "maybe": (None, "sizes", (0, 9))})
    monkeypatch.setitem(models._REGISTRY, "ranged-test", entry)
    assert models.option_ranges("ranged-test") == {"width": (1, 512), "maybe": (0, 9)}
    assert models.option_help("ranged-test")["width"] == "channels; 1..512"
    for key, value in [("width", 513), ("width", 0), ("maybe", (3, 10)), ("maybe", -1)]:
        with pytest.raises(ValueError, match=f"option '{key}' of model 'ranged-test' must be in"):
            models.create("ranged-test", "ring8", **{key: value})
    assert built == []
    models.create("ranged-test", "ring8", width=512, maybe=(0, 9))
    assert built == [{"width": 512, "maybe": (0, 9)}]


def test_register_rejects_a_range_that_is_not_low_high():
    with pytest.raises(ValueError, match=r"\(default, help, \(low, high\)\)"):
        models.register("bad-test", help="x", options={"width": (3, "w", (5, 1))})


@pytest.mark.parametrize("name", models.names())
def test_every_whole_number_size_of_every_model_is_bounded(name):
    """A size typed by mistake (channels=30000) must be refused, not allocated: every option whose
    default is a whole number, or None standing for a dataset-dependent whole number, declares a
    range, except those a model checks against its other options itself (DDPM's)."""
    if name == "ddpm":   # check_options of ddpm.py bounds every size against the others
        return
    ranges = models.option_ranges(name)
    for key, default in models.options(name).items():
        helps = models.option_help(name)[key]
        sizes = isinstance(default, int) and not isinstance(default, bool) or (
            isinstance(default, tuple) and all(isinstance(v, int) for v in default))
        if sizes or (default is None and "dropout" not in key):
            assert key in ranges, f"option {key!r} of {name!r} ({helps}) declares no range"
