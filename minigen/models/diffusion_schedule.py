"""The fixed forward process of a diffusion model and the one-step formulas of its samplers (§6.1).

Index convention. The lecture counts steps t = 1..T; arrays count from 0, so array entry i holds
lecture step t = i + 1 (as in Ho et al.'s code). ``alphas_cumprod[i]`` is alpha_bar_(i+1), and the
"previous" value of entry 0 is alpha_bar_0 = 1 (no noise at all). Every function here takes the
array index ``t`` in 0..T-1; the docstrings write the lecture's formulas.

Forward process (lecture §6.1):

    q(x_t | x_(t-1)) = N(sqrt(1 - beta_t) x_(t-1), beta_t I)
    alpha_t = 1 - beta_t,   alpha_bar_t = alpha_1 alpha_2 ... alpha_t
    q(x_t | x_0)     = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)

so x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps with eps ~ N(0, I). Bayes' rule on two
Gaussians gives the posterior that the reverse process imitates:

    q(x_(t-1) | x_t, x_0) = N(mu_tilde(x_t, x_0), beta_tilde_t I)
    mu_tilde     = sqrt(alpha_bar_(t-1)) beta_t / (1 - alpha_bar_t) x_0
                 + sqrt(alpha_t) (1 - alpha_bar_(t-1)) / (1 - alpha_bar_t) x_t
    beta_tilde_t = (1 - alpha_bar_(t-1)) / (1 - alpha_bar_t) beta_t

Substituting x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t) turns mu_tilde into the
epsilon form that DDPM's sampler uses:

    mu_tilde = 1 / sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps)

The step functions below work on NumPy/CuPy arrays and on minigen Tensors alike: all timesteps of a
sampling batch are equal, so every coefficient is a Python float.
"""
import math

import numpy as np

SCHEDULES = ("linear", "cosine")
DDIM_SPACINGS = ("uniform", "quadratic")


def check_spacing(spacing):
    if spacing not in DDIM_SPACINGS:
        raise ValueError(f"unknown DDIM spacing {spacing!r}; expected one of {DDIM_SPACINGS}")


def make_betas(schedule, timesteps):
    """beta_1..beta_T as a float64 array of length ``timesteps``.

    linear   beta_t evenly spaced from 1e-4 to 0.02 at T = 1000 (Ho et al. 2020); for another T
             both ends are scaled by 1000 / T, so that alpha_bar_T stays near zero (Nichol and
             Dhariwal 2021), with beta capped at 0.999 for very short chains. At T = 1000
             alpha_bar_T = 4.04e-5.
    cosine   alpha_bar(t) = f(t) / f(0), f(t) = cos((t / T + s) / (1 + s) pi / 2)^2, s = 0.008,
             beta_t = 1 - alpha_bar(t) / alpha_bar(t - 1) clipped to 0.999 (Nichol and Dhariwal):
             the noise level grows more evenly, which helps small images.
    """
    if not isinstance(timesteps, (int, np.integer)) or timesteps < 2:
        raise ValueError(f"timesteps must be an integer >= 2, got {timesteps!r}")
    if schedule == "linear":
        scale = 1000.0 / timesteps
        return np.minimum(np.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=np.float64),
                          0.999)
    if schedule == "cosine":
        s = 0.008
        f = np.cos((np.arange(timesteps + 1, dtype=np.float64) / timesteps + s) / (1 + s)
                   * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        return np.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.999)
    raise ValueError(f"unknown beta schedule {schedule!r}; expected one of {SCHEDULES}")


class DiffusionSchedule:
    """The constants of the forward process, as float64 NumPy arrays indexed by t = 0..T-1.

    betas, alphas, alphas_cumprod (alpha_bar_t), alphas_cumprod_prev (alpha_bar_(t-1), with
    alpha_bar_0 = 1 in front), posterior_variance (beta_tilde_t).
    """

    def __init__(self, betas):
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or not np.all((betas > 0) & (betas < 1)):
            raise ValueError(f"betas must be a 1-D array of values in (0, 1), got shape "
                             f"{betas.shape} with range [{betas.min()}, {betas.max()}]")
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.posterior_variance = (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod) \
            * betas

    @classmethod
    def from_name(cls, schedule="linear", timesteps=1000):
        return cls(make_betas(schedule, timesteps))

    @property
    def num_timesteps(self):
        return len(self.betas)

    def _check(self, t):
        if not 0 <= t < self.num_timesteps:
            raise ValueError(f"timestep index t={t} is outside 0..{self.num_timesteps - 1} "
                             f"(array index of lecture step t + 1)")
        return int(t)

    def q_step(self, x_prev, t, noise):
        """One step of the chain: x_t = sqrt(1 - beta_t) x_(t-1) + sqrt(beta_t) eps."""
        beta = self.betas[self._check(t)]
        return math.sqrt(1.0 - beta) * x_prev + math.sqrt(beta) * noise

    def predict_x0(self, x_t, t, eps):
        """x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), the inverse of DDPM.q_sample."""
        ab = self.alphas_cumprod[self._check(t)]
        return (x_t - math.sqrt(1.0 - ab) * eps) * (1.0 / math.sqrt(ab))

    def eps_from_x0(self, x_t, t, x0):
        """eps = (x_t - sqrt(alpha_bar_t) x_0) / sqrt(1 - alpha_bar_t), the other way round."""
        ab = self.alphas_cumprod[self._check(t)]
        return (x_t - math.sqrt(ab) * x0) * (1.0 / math.sqrt(1.0 - ab))

    def posterior_mean(self, x_t, x0, t):
        """mu_tilde(x_t, x_0), the mean of q(x_(t-1) | x_t, x_0)."""
        t = self._check(t)
        ab, ab_prev, beta = self.alphas_cumprod[t], self.alphas_cumprod_prev[t], self.betas[t]
        coef_x0 = math.sqrt(ab_prev) * beta / (1.0 - ab)
        coef_xt = math.sqrt(self.alphas[t]) * (1.0 - ab_prev) / (1.0 - ab)
        return coef_x0 * x0 + coef_xt * x_t

    def eps_mean(self, x_t, eps, t):
        """The same mean in the epsilon form: 1 / sqrt(alpha_t) (x_t - beta_t / sqrt(1 -
        alpha_bar_t) eps)."""
        t = self._check(t)
        coef = self.betas[t] / math.sqrt(1.0 - self.alphas_cumprod[t])
        return (x_t - coef * eps) * (1.0 / math.sqrt(self.alphas[t]))

    def ddpm_step(self, x_t, t, x0, noise):
        """Ancestral step of DDPM (Ho et al., Algorithm 2) with sigma_t^2 = beta_t:

            x_(t-1) = mu_tilde(x_t, x_0_hat) + sqrt(beta_t) z,   no noise at the last step.

        With x_0_hat = predict_x0(x_t, t, eps_theta) this is eps_mean(x_t, eps_theta, t) + noise;
        going through x_0_hat lets the caller clip it to the data range first.
        """
        mean = self.posterior_mean(x_t, x0, t)
        if t == 0:
            return mean
        return mean + math.sqrt(self.betas[t]) * noise

    def ddim_step(self, x_t, t, t_prev, x0, eps, eta=0.0, noise=None):
        """DDIM step from index t to the earlier index t_prev (-1 means all the way to x_0):

            sigma   = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)
            x_prev  = sqrt(ab_prev) x_0_hat + sqrt(1 - ab_prev - sigma^2) eps + sigma z

        (Song et al. 2021, eq. 12). eta = 0 is deterministic; eta = 1 with every step is the
        ancestral sampler with sigma_t^2 = beta_tilde_t.
        """
        ab = self.alphas_cumprod[self._check(t)]
        ab_prev = 1.0 if t_prev < 0 else self.alphas_cumprod[self._check(t_prev)]
        sigma = eta * math.sqrt((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev))
        x_prev = math.sqrt(ab_prev) * x0 + math.sqrt(max(1.0 - ab_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            if noise is None:
                raise ValueError(f"a DDIM step with eta={eta} needs noise")
            x_prev = x_prev + sigma * noise
        return x_prev

    def ddim_timesteps(self, steps, spacing="uniform"):
        """``steps`` distinct indices from T-1 down to 0 (both ends included).

        uniform     evenly spread, tau_i = round(i (T - 1) / (S - 1))
        quadratic   tau_i = round((i / (S - 1))^2 (T - 1)): dense near t = 0, where the image's
                    detail is decided, sparse in the almost pure noise (Song et al. use it for
                    CIFAR-10); indices that would repeat are pushed up by one
        """
        T = self.num_timesteps
        if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= T:
            raise ValueError(f"the number of DDIM steps must be an integer in 1..{T}, got "
                             f"{steps!r}")
        check_spacing(spacing)
        if steps == 1:
            return np.array([T - 1])
        fraction = np.linspace(0.0, 1.0, steps)
        if spacing == "quadratic":
            fraction = fraction ** 2
        taus = np.round(fraction * (T - 1)).astype(np.int64)
        for i in range(1, steps):                 # distinct: at least one step apart
            taus[i] = max(taus[i], taus[i - 1] + 1)
        for i in range(steps - 2, -1, -1):        # ... and still ending at T - 1
            taus[i] = min(taus[i], taus[i + 1] - 1)
        return taus[::-1]
