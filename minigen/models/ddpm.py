"""Denoising diffusion probabilistic models (lecture §6.1; Ho et al. 2020), with DDIM sampling
(Song et al. 2021) and classifier-free guidance (Ho and Salimans 2021).

Forward process (fixed): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, eps ~ N(0, I),
with alpha_bar_t = prod_(s <= t) (1 - beta_s) and beta_t rising from 1e-4 to 0.02 over T = 1000
steps, so x_T is almost pure noise (alpha_bar_T = 4e-5). The formulas and the index convention
(array index t = lecture step t + 1) are in diffusion_schedule.py.

Training (§6.1): a network eps_theta learns to tell the noise in x_t,

   L = E_(t,x_0,eps) || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2

with t uniform over the T steps. We average over the coordinates instead of summing (same
minimizer, the loss stays near 1 whatever the image size).

Ancestral sampling (§6.1, "generation"): x_T ~ N(0, I), then for t = T, ..., 1

    x_(t-1) = 1 / sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta(x_t, t)) + sigma_t z

with sigma_t^2 = beta_t and z ~ N(0, I) (z = 0 at the last step). For images the same mean is
computed as the posterior mean mu_tilde(x_t, x_0_hat) with the prediction
x_0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t) clipped to the data range
[-1, 1]; without the clip the two forms are equal.

DDIM (``sample(n, steps=S)``): S timesteps tau_S > ... > tau_1 spread over 1..T and the
deterministic update (eta = 0)

    x_(tau_(i-1)) = sqrt(alpha_bar_(tau_(i-1))) x_0_hat + sqrt(1 - alpha_bar_(tau_(i-1))) eps_theta,

the same trained network, S network calls instead of T: the answer to the slow sampling of the
trilemma (§6.2). ``eta`` > 0 adds fresh noise sigma z at each step (eta = 1: the strided chain's
posterior variance). For the small networks trained here, it makes DDIM-50 as good as DDPM-1000,
which deterministic DDIM does not reach at any step count (README).

Conditioning (§6.1, last point) and classifier-free guidance: eps_theta(x_t, t, y) gets a class
embedding; during training the label is replaced by a null label with probability p_uncond, so the
network is also an unconditional model. At sampling time, with guidance scale w,

    eps = (1 + w) eps_theta(x_t, t, y) - w eps_theta(x_t, t, null)

(Ho and Salimans' convention: w = 0 is the plain conditional model; w > 0 pushes samples towards
what distinguishes class y, trading diversity for class fidelity).

2-D toys are standardized inside the model, x -> (x - mean) / scale with the training set's
mean and overall standard deviation, so the schedule sees unit-scale data; ``sample`` returns
points in the data's own scale.
"""
import numpy as np

import minigen as mg
from minigen import backend
from minigen.nn import functional as F

from . import register, train_split
from .base import GenerativeModel, SamplingModel, progress
from .diffusion_schedule import SCHEDULES, DiffusionSchedule, check_spacing
from .unet import MLPDenoiser, UNet


class DDPM(SamplingModel, GenerativeModel):
    """A diffusion model around a noise predictor ``net(x_t, t, y) -> eps`` of the input's shape.

    shape         shape of one example, (C, H, W) or (D,)
    schedule      'linear' or 'cosine' beta schedule over ``timesteps`` steps
    num_classes   > 0: class-conditional (net has a null label at index num_classes)
    p_uncond      probability of training on the null label (classifier-free guidance)
    guidance      default guidance scale w of ``sample``
    clip_range    (low, high): clip x_0_hat to it while sampling (images), or None
    data_mean, data_scale   the standardization x -> (x - mean) / scale (toys; images use 0, 1)
    ema_decay     decay of the weights' moving average that the trainer keeps and samples with
    lr_schedule   'cosine' anneals the learning rate to 0 over the run, 'constant' keeps it
    max_grad_norm None, or the norm the gradient is clipped to
    sample_steps  0: ``sample(n)`` samples ancestrally over all T steps; S: with DDIM-S

    The defaults of ema_decay and lr_schedule are those of the registry (``minigen train ddpm``,
    OPTIONS below), the tested ones; the class and the factory share them.
    """

    def __init__(self, net, shape, schedule="linear", timesteps=1000, num_classes=0, p_uncond=0.1,
                 guidance=0.0, clip_range=None, data_mean=None, data_scale=1.0, ema_decay=0.995,
                 lr_schedule="cosine", max_grad_norm=None, sample_steps=0):
        super().__init__()
        if not 0.0 <= p_uncond < 1.0:
            raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond}")
        check_guidance(guidance)
        self.net = net
        self.shape = tuple(int(s) for s in shape)
        self.num_classes = int(num_classes)
        self.conditional = self.num_classes > 0
        self.p_uncond = float(p_uncond)
        self.guidance = float(guidance)
        self.sample_steps = int(sample_steps)
        self.clip_range = clip_range
        self.ema_decay = ema_decay
        if lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        self.max_grad_norm = max_grad_norm
        self.schedule = DiffusionSchedule.from_name(schedule, timesteps)
        self.num_timesteps = self.schedule.num_timesteps
        for name in ("betas", "alphas_cumprod"):      # what sampling reads lives in self.schedule
            values = getattr(self.schedule, name).astype(np.float32)
            self.register_buffer(name, mg.tensor(values), persistent=False)
        mean = np.zeros(self.shape, np.float32) if data_mean is None else data_mean
        self.register_buffer("data_mean", mg.tensor(np.asarray(mean, np.float32)),
                             persistent=False)
        self.data_scale = float(data_scale)

    # ------------------------------------------------------------------ the forward process

    def q_sample(self, x0, t, noise=None):
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t an int or a Tensor (N,)."""
        if noise is None:
            noise = mg.randn_like(x0)
        t = self._timestep_tensor(t, x0.shape[0], x0.device)
        alpha_bar = self.alphas_cumprod[t].reshape((-1,) + (1,) * (x0.ndim - 1))
        return alpha_bar.sqrt() * x0 + (1.0 - alpha_bar).sqrt() * noise

    def _timestep_tensor(self, t, n, device):
        if isinstance(t, (int, np.integer)):
            t = mg.full((n,), int(t), dtype=np.int64, device=device)
        data = t.data
        if data.shape != (n,) or data.dtype.kind not in "iu":
            raise ValueError(f"timesteps must be an int or an integer Tensor of shape ({n},), got "
                             f"{data.dtype} of shape {data.shape}")
        if int(data.min()) < 0 or int(data.max()) >= self.num_timesteps:
            raise ValueError(f"timesteps must lie in 0..{self.num_timesteps - 1}, got "
                             f"{int(data.min())}..{int(data.max())}")
        return t

    # ------------------------------------------------------------------ data <-> diffusion space

    def to_model_space(self, x):
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"DDPM over examples of shape {self.shape} got a batch of shape "
                             f"{tuple(x.shape)}")
        return (x - self.data_mean) * (1.0 / self.data_scale)

    def to_data_space(self, x):
        return x * self.data_scale + self.data_mean

    # ------------------------------------------------------------------ training

    def configure_schedulers(self, optimizers, steps):
        """Cosine annealing of the learning rate to 0 over the run, when asked for: the last
        steps with a small rate refine eps_theta at low noise, where samples get their detail."""
        if self.lr_schedule == "constant" or not steps:
            return {}
        return {name: mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
                for name, opt in optimizers.items()}

    def forward(self, x_t, t, y=None):
        """The raw network output eps_theta(x_t, t, y) in diffusion space."""
        return self.net(x_t, self._timestep_tensor(t, x_t.shape[0], x_t.device), y)

    def drop_labels(self, y):
        """y with each label replaced by the null label with probability p_uncond."""
        xp = backend.get_array_module(y.data)
        drop = mg.rand(y.shape[0], device=y.device).data < self.p_uncond
        return mg.tensor(xp.where(drop, self.num_classes, y.data).astype(xp.int64))

    def loss(self, x, y=None):
        """|| eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t, y) ||^2, the
        mean over the batch and the coordinates, t uniform over the T steps."""
        x0 = self.to_model_space(x)
        t = mg.randint(0, self.num_timesteps, (x0.shape[0],), device=x0.device)
        noise = mg.randn_like(x0)
        x_t = self.q_sample(x0, t, noise)
        if self.conditional:
            if y is None:
                raise ValueError("a conditional DDPM trains on labelled batches (x, y); the "
                                 "dataset has no labels")
            y = self.drop_labels(y)
        else:
            y = None
        return F.mse_loss(self.net(x_t, t, y), noise)

    # ------------------------------------------------------------------ sampling

    def eps_theta(self, x_t, t, y=None, guidance=0.0):
        """eps_theta(x_t, t, y), with labels and w = guidance != 0 the guided combination
        (1 + w) eps_theta(x_t, t, y) - w eps_theta(x_t, t, null)."""
        n = x_t.shape[0]
        t = self._timestep_tensor(t, n, x_t.device)
        if y is None or guidance == 0:
            return self.net(x_t, t, y)
        null = mg.full((n,), self.num_classes, dtype=np.int64, device=x_t.device)
        # One network call on the doubled batch: conditional rows first, unconditional after.
        both = self.net(mg.cat([x_t, x_t]), mg.cat([t, t]), mg.cat([y, null]))
        cond, uncond = both[:n], both[n:]
        return (1.0 + guidance) * cond - guidance * uncond

    def _predict_x0(self, x_t, t, eps):
        """x_0_hat from eps_theta, clipped to the data range for images; returns (x_0_hat, eps)
        with eps recomputed from the clipped x_0_hat (so DDIM stays consistent with it)."""
        x0 = self.schedule.predict_x0(x_t, t, eps)
        if self.clip_range is None:
            return x0, eps
        x0 = x0.clamp(*self.clip_range)
        return x0, self.schedule.eps_from_x0(x_t, t, x0)

    def _sample_labels(self, n, y):
        if y is None:
            if not self.conditional:
                return None
            if self.p_uncond > 0:          # the null label: the network's unconditional model
                return mg.full((n,), self.num_classes, dtype=np.int64, device=self.betas.device)
            return mg.randint(0, self.num_classes, (n,), device=self.betas.device)
        if not self.conditional:
            raise ValueError("this DDPM is unconditional; sample it without labels (y=None) or "
                             "train it with --set conditional=true")
        y = y if isinstance(y, mg.Tensor) else mg.tensor(np.asarray(y, dtype=np.int64))
        if y.shape != (n,) or y.dtype.kind not in "iu":
            raise ValueError(f"labels for {n} samples must be {n} integers, got {y.dtype} of "
                             f"shape {y.shape}")
        if len(y) and (int(y.data.min()) < 0 or int(y.data.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got "
                             f"{int(y.data.min())}..{int(y.data.max())}")
        return y.to(self.betas.device)

    def sample_defaults(self):
        """DDIM-50 with eta = 1 (or DDIM-S with the model's sample_steps = S): as good as the
        full chain for the networks trained here at 1/20 of the calls (README)."""
        return {"steps": self.sample_steps or min(50, self.num_timesteps), "eta": 1.0}

    def describe_sampler(self, steps=None, guidance=None, eta=0.0, spacing="uniform"):
        steps = steps or self.sample_steps
        text = (f"ancestral DDPM-{self.num_timesteps}" if not steps else
                f"DDIM-{steps}, eta {eta:g}" + (f", {spacing} spacing"
                                                 if spacing != "uniform" else ""))
        if self.conditional:
            text += f", guidance w = {self.guidance if guidance is None else guidance:g}"
        return text

    def sample(self, n, y=None, steps=None, guidance=None, eta=0.0, spacing="uniform"):
        """n samples as a backend array in the data's scale.

        steps     S: DDIM with S steps; None: the model's default, which is ancestral DDPM
                  sampling over all T steps unless the model was built with sample_steps=S
        guidance  the guidance scale w (None: the model's default); needs labels
        eta       DDIM's noise level: 0 is deterministic; 1 draws fresh noise at each step with
                  the strided chain's posterior variance, which corrects the errors of a briefly
                  trained eps_theta (DDIM-50 FID 2.28 with eta = 1 and 3.12 with eta = 0 on
                  digits, where DDPM-1000 gives 2.24)
        spacing   DDIM's timesteps: 'uniform' or 'quadratic' (denser near t = 0)
        y         labels (N,) for a conditional model; None samples the unconditional model
                  (the null label; uniform random classes if trained without it)
        """
        if guidance is not None and not self.conditional:
            raise ValueError("guidance needs a conditional DDPM (--set conditional=true); this "
                             "one is unconditional")
        guidance = self.guidance if guidance is None else check_guidance(guidance)
        check_eta(eta)
        check_spacing(spacing)    # here too: ancestral sampling ignores it, but a typo is an error
        if steps is None and self.sample_steps:
            steps = self.sample_steps
        device = self.betas.device
        with mg.no_grad():
            y = self._sample_labels(n, y)
            x = mg.randn(n, *self.shape, device=device)
            if steps is None:
                T = self.num_timesteps
                for t in progress(range(T - 1, -1, -1), T, f"DDPM-{T} sampling"):
                    x0, _ = self._predict_x0(x, t, self.eps_theta(x, t, y, guidance))
                    noise = mg.randn_like(x) if t > 0 else None
                    x = self.schedule.ddpm_step(x, t, x0, noise)
            else:
                timesteps = self.schedule.ddim_timesteps(steps, spacing)
                pairs = list(zip(timesteps, list(timesteps[1:]) + [-1]))
                for t, t_prev in progress(pairs, len(pairs), f"DDIM-{steps} sampling"):
                    x0, eps = self._predict_x0(x, int(t), self.eps_theta(x, int(t), y, guidance))
                    noise = mg.randn_like(x) if eta > 0 else None
                    x = self.schedule.ddim_step(x, int(t), int(t_prev), x0, eps, eta, noise)
            return self.to_data_space(x).data


def check_guidance(w):
    """The guidance scale w as a float; a sentence unless it is a finite number >= 0."""
    if isinstance(w, bool) or not isinstance(w, (int, float, np.floating, np.integer)) \
            or not np.isfinite(w) or w < 0:
        raise ValueError(f"the guidance scale w must be a finite number >= 0, got {w!r}")
    return float(w)


def check_eta(eta):
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)) \
            or not 0.0 <= eta <= 1.0:
        raise ValueError(f"DDIM's eta must be a number in [0, 1] (0 deterministic, 1 the strided "
                         f"chain's posterior noise), got {eta!r}")


# ---------------------------------------------------------------------------- the registry entry

TOYS_TRAIN = {"steps": 8000, "batch_size": 256, "lr": 1e-3}
SMALL_IMAGES_TRAIN = {"steps": 2000, "batch_size": 64, "lr": 2e-3}     # 8x8 digits
IMAGES_TRAIN = {"steps": 2200, "batch_size": 64, "lr": 2e-3}           # 28x28 MNIST


def _train_defaults(data):
    dataset = train_split(data)
    if dataset is None:
        return {}
    if not dataset.is_image:
        return TOYS_TRAIN
    return SMALL_IMAGES_TRAIN if max(dataset.shape[1:]) <= 8 else IMAGES_TRAIN


OPTIONS = {
    "conditional": (False, "class-conditional eps_theta(x_t, t, y); sample(n, y) draws class y"),
    "p_uncond": (0.1, "probability of training on the null label (classifier-free guidance)"),
    "guidance": (0.3, "default guidance scale w of a conditional model: eps = (1 + w) eps(x, y) "
                      "- w eps(x, null); 0.3 measured best on mnist5k, 0 = the plain "
                      "conditional model"),
    "timesteps": (1000, "T, the number of diffusion steps"),
    "schedule": ("linear", f"beta schedule, one of {', '.join(SCHEDULES)}"),
    "channels": (16, "U-Net width of the first level (images)"),
    "channel_mult": ((1, 2, 2), "U-Net width multiplier per resolution level (images): 8x8 "
                                "-> 4x4 -> 2x2, 28x28 -> 14x14 -> 7x7"),
    "num_res_blocks": (1, "U-Net residual blocks per level (images)"),
    "attention": (True, "self-attention at the U-Net's lowest resolution (images)"),
    "dropout": (0.0, "dropout inside the U-Net's residual blocks (images)"),
    "hidden": (256, "width of the MLP noise predictor (2-D toys)"),
    "depth": (3, "residual blocks of the MLP noise predictor (2-D toys)"),
    "octaves": (6, "octaves of Fourier features of the MLP's input (2-D toys; 0 = raw x)"),
    "ema_decay": (0.995, "decay of the moving average of the weights used for sampling"),
    "sample_steps": (0, "sampler of sample(n) when no steps are given: 0 = ancestral over all T "
                        "steps, S = DDIM with S steps (fast samples.png and evaluation)"),
    "lr_schedule": ("cosine", "learning rate over the run: cosine (annealed to 0) or constant"),
    "max_grad_norm": (0.0, "clip the gradient norm to this value (0: no clipping)"),
}


def check_options(dataset, o):
    """Each option's value in its range, or a ValueError naming it."""
    def whole(key, low, high):
        if not low <= o[key] <= high:
            raise ValueError(f"option {key} must be an integer in {low}..{high}, got {o[key]}")

    def real(key, low, high, closed_high=True):
        inside = low <= o[key] <= high if closed_high else low <= o[key] < high
        if not inside:
            bracket = "]" if closed_high else ")"
            raise ValueError(f"option {key} must be in [{low}, {high}{bracket}, got {o[key]}")
    whole("timesteps", 2, 10_000)
    whole("channels", 1, 512)
    whole("num_res_blocks", 1, 8)
    whole("hidden", 1, 8192)
    whole("depth", 1, 32)
    whole("octaves", 0, 16)
    whole("sample_steps", 0, o["timesteps"])
    real("p_uncond", 0.0, 1.0, closed_high=False)
    real("dropout", 0.0, 1.0, closed_high=False)
    real("ema_decay", 0.0, 1.0, closed_high=False)
    real("max_grad_norm", 0.0, 1e6)
    check_guidance(o["guidance"])
    if o["schedule"] not in SCHEDULES:
        raise ValueError(f"option schedule must be one of {', '.join(SCHEDULES)}, got "
                         f"{o['schedule']!r}")
    if o["lr_schedule"] not in ("constant", "cosine"):
        raise ValueError(f"option lr_schedule must be constant or cosine, got "
                         f"{o['lr_schedule']!r}")
    if not o["channel_mult"] or not all(1 <= m <= 16 for m in o["channel_mult"]) \
            or len(o["channel_mult"]) > 6:
        raise ValueError(f"option channel_mult must be 1 to 6 integers in 1..16, got "
                         f"{o['channel_mult']}")
    if dataset.is_image:
        c, h, w = dataset.shape
        if h != w:
            raise ValueError(f"the U-Net expects square images, got {h}x{w}")
        if h % 2 ** (len(o["channel_mult"]) - 1):
            raise ValueError(f"option channel_mult has {len(o['channel_mult'])} levels, so the "
                             f"image side {h} must be divisible by "
                             f"{2 ** (len(o['channel_mult']) - 1)}")
    if o["conditional"] and not dataset.num_classes:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so conditional=true cannot "
                         f"be used")
    if not o["conditional"] and o["guidance"] != OPTIONS["guidance"][0]:
        raise ValueError("option guidance applies to a conditional DDPM; add --set "
                         "conditional=true (or leave guidance out)")


@register("ddpm", help="denoising diffusion model: eps-prediction U-Net (MLP on 2-D toys), "
                       "ancestral and DDIM sampling, classifier-free guidance (§6)",
          options=OPTIONS, train=_train_defaults)
def build(dataset, conditional, p_uncond, guidance, timesteps, schedule, channels, channel_mult,
          num_res_blocks, attention, dropout, hidden, depth, octaves, ema_decay, lr_schedule,
          max_grad_norm, sample_steps):
    check_options(dataset, {k: v for k, v in locals().items() if k in OPTIONS})
    training = dict(ema_decay=ema_decay, lr_schedule=lr_schedule,
                    max_grad_norm=max_grad_norm or None, sample_steps=sample_steps)
    num_classes = dataset.num_classes if conditional else 0
    guidance = guidance if conditional else 0.0
    if dataset.is_image:
        c, h, w = dataset.shape
        net = UNet(c, h, channels=channels, channel_mult=tuple(channel_mult),
                   num_res_blocks=num_res_blocks, attention=attention, num_classes=num_classes,
                   dropout=dropout)
        return DDPM(net, dataset.shape, schedule, timesteps, num_classes, p_uncond, guidance,
                    clip_range=(-1.0, 1.0), **training)
    net = MLPDenoiser(dataset.shape[0], hidden, depth, num_classes, octaves)
    return DDPM(net, dataset.shape, schedule, timesteps, num_classes, p_uncond, guidance,
                data_mean=dataset.x.mean(axis=0), data_scale=float(dataset.x.std()), **training)
