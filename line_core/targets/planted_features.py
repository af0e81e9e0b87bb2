"""Fixed (untrained) feature maps of the planted model: colour fractions and pattern energies.

Everything is a known function of the pixels, computed at half resolution (112 x 112):

* :class:`ColourMaps` - per pixel, is it one of the named colours (hue range with enough
  saturation and value; white / black by value), averaged over 2 x 2 blocks: fractions in [0, 1].
* :class:`PatternMaps` - oriented band energy from analytic log-Gabor filters applied in the
  Fourier domain (4 orientations x 4 scales, summed over R, G, B so that e.g. yellow-on-white
  stripes count). Per pixel: horizontal / vertical / diagonal stripes = one orientation
  dominating the others; checkerboard = both diagonals strong and both axes weak at one scale
  (an axis-aligned checkerboard's fundamental has no axis energy) with axis-aligned edges at a
  finer scale (which a diagonal crosshatch lacks). Polka dots = normalised correlation with
  centre-surround disk templates of a few radii, where no stripe / checker pattern dominates.
  Each map is in [0, 1], roughly "how surely this pixel sits in the pattern".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

COLOURS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "white", "black")
#: Hue ranges in degrees [start, end); red wraps around 0.
HUE_RANGES = {
    "red": (330.0, 15.0),
    "orange": (15.0, 45.0),
    "yellow": (45.0, 70.0),
    "green": (70.0, 165.0),
    "cyan": (165.0, 195.0),
    "blue": (195.0, 260.0),
    "purple": (260.0, 330.0),
}
MIN_SATURATION = 0.4
MIN_VALUE = 0.3
#: Red needs a brighter value, so that brown and maroon (dark reds by hue) do not count.
MIN_VALUE_BY_COLOUR = {"red": 0.7}
PATTERNS = ("horizontal", "vertical", "diagonal", "checkerboard", "dots")
WORK_SIZE = 112


def rgb_to_hsv(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue in degrees [0, 360), saturation and value in [0, 1] for an [N, 3, H, W] batch."""
    r, g, b = rgb.unbind(dim=1)
    value, _ = rgb.max(dim=1)
    low, _ = rgb.min(dim=1)
    delta = value - low
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(
        value == r,
        ((g - b) / safe) % 6.0,
        torch.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = torch.where(delta > 0, hue * 60.0, torch.zeros_like(hue)) % 360.0
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, 1.0), 0.0)
    return hue, saturation, value


class ColourMaps(nn.Module):
    """Fractions of pixels of each named colour, [N, 3, 224, 224] -> [N, 9, 112, 112]."""

    names = COLOURS

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Colour membership maps (channel order: :data:`COLOURS`)."""
        images = images.clamp(0.0, 1.0)
        hue, saturation, value = rgb_to_hsv(images)
        chromatic = (saturation >= MIN_SATURATION) & (value >= MIN_VALUE)
        masks = []
        for name in COLOURS[:7]:
            start, end = HUE_RANGES[name]
            in_range = (hue >= start) | (hue < end) if start > end else (hue >= start) & (hue < end)
            bright = value >= MIN_VALUE_BY_COLOUR.get(name, MIN_VALUE)
            masks.append(chromatic & in_range & bright)
        masks.append((saturation < 0.15) & (value > 0.85))
        masks.append(value < 0.2)
        maps = torch.stack(masks, dim=1).float()
        return F.adaptive_avg_pool2d(maps, WORK_SIZE)


def _frequency_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    freq = torch.fft.fftfreq(size, dtype=torch.float64)
    fy, fx = torch.meshgrid(freq, freq, indexing="ij")
    return fy, fx


def log_gabor_bank(
    size: int,
    centre_freqs: tuple[float, ...],
    orientations_deg: tuple[float, ...],
    sigma_ratio: float = 0.6,
    sigma_angle_deg: float = 18.0,
) -> torch.Tensor:
    """One-sided (analytic) log-Gabor filters in the Fourier domain, [S, O, size, size].

    Orientation is that of the frequency vector: 0 deg responds to vertical stripes (intensity
    varying along x), 90 deg to horizontal stripes.
    """
    fy, fx = _frequency_grid(size)
    radius = torch.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    angle = torch.atan2(fy, fx)
    sigma_angle = math.radians(sigma_angle_deg)
    bank = torch.zeros(len(centre_freqs), len(orientations_deg), size, size, dtype=torch.float64)
    for i, f0 in enumerate(centre_freqs):
        radial = torch.exp(-(torch.log(radius / f0) ** 2) / (2 * math.log(sigma_ratio) ** 2))
        radial[0, 0] = 0.0
        for j, theta in enumerate(orientations_deg):
            diff = torch.remainder(angle - math.radians(theta) + math.pi, 2 * math.pi) - math.pi
            bank[i, j] = radial * torch.exp(-(diff**2) / (2 * sigma_angle**2))
    return bank.float()


def dot_template_bank(size: int, radii: tuple[float, ...], surround: float = 2.0) -> torch.Tensor:
    """Real spectra (rfft2 layout) of centre-surround dot templates and their windows.

    Returns [R, 2, size, size // 2 + 1]: per radius r, a zero-mean template (disk of radius r
    minus the annulus r .. ``surround`` * r, each normalised to unit mass) and the uniform window
    over its support (for the local mean). Both kernels are real and even, so are their spectra.
    """
    centre = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(centre, centre, indexing="ij")
    radius = torch.sqrt(xx**2 + yy**2)
    bank = torch.zeros(len(radii), 2, size, size // 2 + 1, dtype=torch.float64)
    for i, r in enumerate(radii):
        inner = (r + 0.5 - radius).clamp(0.0, 1.0)
        support = (surround * r + 0.5 - radius).clamp(0.0, 1.0)
        ring = support - inner
        template = inner / inner.sum() - ring / ring.sum()
        template = template / torch.sqrt((template**2).sum())  # unit norm
        window = support / support.sum()
        for j, kernel in enumerate((template, window)):
            bank[i, j] = torch.fft.rfft2(torch.fft.ifftshift(kernel)).real
        bank[i, 1] *= support.sum()  # window spectrum scaled so that it sums, not averages
    return bank.float()


def _smooth(maps: torch.Tensor, kernel: int) -> torch.Tensor:
    """Box mean over a kernel x kernel window (separable; borders average what is inside)."""
    pad = kernel // 2
    rows = F.avg_pool2d(maps, (1, kernel), 1, (0, pad), count_include_pad=False)
    return F.avg_pool2d(rows, (kernel, 1), 1, (pad, 0), count_include_pad=False)


def _local_max(maps: torch.Tensor, kernel: int) -> torch.Tensor:
    """Max over a kernel x kernel window (separable)."""
    pad = kernel // 2
    rows = F.max_pool2d(maps, (1, kernel), 1, (0, pad))
    return F.max_pool2d(rows, (kernel, 1), 1, (pad, 0))


class PatternMaps(nn.Module):
    """Pattern maps [N, 5, 112, 112] (channel order: :data:`PATTERNS`) from images in [0, 1]."""

    names = PATTERNS

    def __init__(
        self,
        centre_freqs: tuple[float, ...] = (1 / 4, 1 / 8, 1 / 16, 1 / 32),
        dot_radii: tuple[float, ...] = (2.0, 2.75, 3.75, 5.0, 6.5, 8.5),
        pad: int = 16,
        energy_floor: float = 2e-3,
        dot_threshold: float = 0.75,
        dot_floor: float = 2e-3,
        dot_spread: int = 9,
    ) -> None:
        super().__init__()
        self.pad = pad
        self.energy_floor = energy_floor
        self.dot_threshold = dot_threshold
        self.dot_floor = dot_floor
        self.dot_spread = dot_spread
        size = WORK_SIZE + 2 * pad
        orientations = (0.0, 45.0, 90.0, 135.0)
        self.register_buffer("gabor", log_gabor_bank(size, centre_freqs, orientations))
        self.register_buffer("dots", dot_template_bank(size, dot_radii))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Pattern membership maps in [0, 1]."""
        small = F.adaptive_avg_pool2d(images.clamp(0.0, 1.0), WORK_SIZE)
        small = small - small.mean(dim=(2, 3), keepdim=True)
        padded = F.pad(small, (self.pad,) * 4, mode="reflect")
        crop = (slice(None),) * 3 + (slice(self.pad, -self.pad),) * 2
        stripes = self._stripe_maps(torch.fft.fft2(padded), crop)
        # Dot-like spots where a stripe or checker pattern dominates are not polka dots.
        dots = self._dot_map(padded, crop[1:]) * (1.0 - stripes.amax(dim=1, keepdim=True))
        return torch.cat([stripes, dots], dim=1)

    def _stripe_maps(self, spectrum: torch.Tensor, crop: tuple) -> torch.Tensor:
        best = None
        finer_axis = None  # strongest axis-aligned share at any finer scale, per pixel
        for bank in self.gabor:  # one scale: [4 orientations, H, W], finest first
            response = torch.fft.ifft2(spectrum[:, :, None] * bank[None, None])
            energy = torch.view_as_real(response[crop]).square().sum(dim=(1, -1))  # [N, 4, h, w]
            energy = _smooth(energy, 7)
            e0, e45, e90, e135 = energy.unbind(dim=1)
            total = energy.sum(dim=1) + self.energy_floor
            diag_hi, diag_lo = torch.maximum(e45, e135), torch.minimum(e45, e135)
            axis_hi = torch.maximum(e0, e90)
            # A checkerboard's fundamental is two diagonal gratings (no axis energy), but its
            # edges are axis-aligned at finer scales; a diagonal crosshatch has no such edges.
            checker = (2 * F.relu(diag_lo - 2 * axis_hi) / total).clamp(max=1.0)
            if finer_axis is None:
                checker = torch.zeros_like(checker)
            else:
                checker = checker * (2 * finer_axis).clamp(max=1.0)
            maps = torch.stack(
                [
                    F.relu(e90 - 2 * torch.stack([e0, e45, e135]).amax(0)) / total,
                    F.relu(e0 - 2 * torch.stack([e90, e45, e135]).amax(0)) / total,
                    F.relu(diag_hi - 2 * torch.maximum(axis_hi, diag_lo)) / total,
                    checker,
                ],
                dim=1,
            )
            best = maps if best is None else torch.maximum(best, maps)
            axis_share = (e0 + e90) / total
            finer_axis = axis_share if finer_axis is None else torch.maximum(finer_axis, axis_share)
        return best

    def _dot_map(self, padded: torch.Tensor, crop: tuple) -> torch.Tensor:
        """Normalised correlation with centre-surround disk templates (max over radii)."""
        size = padded.shape[-1]
        values = torch.fft.rfft2(padded)
        squares = torch.fft.rfft2(padded**2)
        best = None
        for bank in self.dots:  # one radius: [template, window]
            response = torch.fft.irfft2(values[:, :, None] * bank[None, None], s=(size, size))
            local_sum_sq = torch.fft.irfft2(squares * bank[1][None, None], s=(size, size))
            correlation, local_sum = response.unbind(dim=2)
            count = bank[1][0, 0]
            # Sum of squared deviations over the template support, per channel.
            spread = (local_sum_sq - local_sum**2 / count).clamp(min=0.0)
            # Each channel may have its own polarity (violet dots on red: G and B up, R down).
            match = (correlation**2).sum(dim=1, keepdim=True)
            energy = spread.sum(dim=1, keepdim=True)
            ncc = torch.sqrt(match / (energy + self.dot_floor * count))[crop]
            best = ncc if best is None else torch.maximum(best, ncc)
        score = F.relu(best - self.dot_threshold) / (1.0 - self.dot_threshold)
        return _local_max(score, self.dot_spread)
