"""The pictures of a finished run, chosen by what the model declares (minigen/models/base.py):

    SamplingModel         samples.png          drawn with the model's fast sampler unless told
                                               otherwise (DDPM: DDIM-50 with eta = 1)
    TranslationModel      translations.png     rows a, G(a), F(G(a)) and b, F(b), G(F(b)) on test
                                               images of both domains (G = direction "AB")
    LatentVariableModel   reconstructions.png  test images x beside their reconstructions x_hat
    any model             what its figures(run_dir, dataset) writes

Each is drawn in eval mode, under no_grad, with the EMA weights and a private random stream.
"""
import os

import minigen as mg
from minigen import data as datasets
from minigen.models import LatentVariableModel, SamplingModel, TranslationModel
from . import plots
from .trainer import sample_batch_spec, sampling

SAMPLES = "samples.png"
TRANSLATIONS = "translations.png"
RECONSTRUCTIONS = "reconstructions.png"
ROW_LENGTH = 10


def sampler_options(model, given=None, plain=False):
    """The options sample() is called with: the model's fast sampler (its sample_defaults()),
    updated by ``given``; ``plain`` drops the defaults (sample()'s own: DDPM's full chain)."""
    return {**({} if plain else model.sample_defaults()), **(given or {})}


def draw_samples_png(model, path, dataset, title, device="cpu", options=None):
    """samples.png of a SamplingModel (already in the sampling context); returns the sampler."""
    n, labels = sample_batch_spec(model, dataset)
    y = None if labels is None else mg.tensor(labels, device=device)
    samples = model.sample(n, y=y, **options)
    plots.plot_samples(samples, path, dataset, labels=labels, title=title)
    return model.describe_sampler(**options)


def draw_figures(model, ema, run_dir, dataset, title, seed, device="cpu", sample_options=None):
    """Write the figures of ``model`` into ``run_dir``; returns {file name: what it shows}."""
    written = {}
    with sampling(model, ema, seed):
        if isinstance(model, SamplingModel):
            options = sampler_options(model, sample_options)
            written[SAMPLES] = "samples, " + draw_samples_png(
                model, os.path.join(run_dir, SAMPLES), dataset, title, device, options)
        if isinstance(model, TranslationModel) and dataset.is_image:
            x_a, x_b = model.domain_examples(dataset, ROW_LENGTH)
            g, f = model.directions[0], model.directions[1]
            a, b = mg.tensor(x_a, device=device), mg.tensor(x_b, device=device)
            g_a, f_b = model.translate(a, g), model.translate(b, f)
            rows = [a, g_a, model.translate(g_a, f), b, f_b, model.translate(f_b, g)]
            names = ["a", f"G(a)  {g}", "F(G(a))", "b", f"F(b)  {f}", "G(F(b))"]
            plots.plot_rows([r.data for r in rows], os.path.join(run_dir, TRANSLATIONS), names,
                            title=f"{title}: translations and cycles")
            written[TRANSLATIONS] = "test images of both domains, translated and translated back"
        if isinstance(model, LatentVariableModel) and dataset.is_image:
            test = datasets.load(dataset.name, "test", n=min(ROW_LENGTH, len(dataset)))
            x_hat = model.reconstruct(mg.tensor(test.x, device=device))
            plots.plot_rows([test.x, x_hat], os.path.join(run_dir, RECONSTRUCTIONS),
                            ["x", "x_hat"], title=f"{title}: reconstructions")
            written[RECONSTRUCTIONS] = "test images x beside their reconstructions x_hat"
        for name in model.figures(run_dir, dataset) or []:
            written[name] = f"drawn by {type(model).__name__}.figures"
    return written
