"""Fixed (untrained) feature maps of the planted model: colour fractions and pattern energies.

Everything is a known function of the pixels, computed at half resolution (112 x 112):

* :class:`ColourMaps` - per pixel, is it one of the named colours (hue range with enough
  saturation and value; white / black by value), averaged over 2 x 2 blocks: fractions in [0, 1].
* :class:`PatternMaps` - oriented band energy from analytic log-Gabor filters applied in the
  Fourier domain (4 orientations x 4 scales, summed over R, G, B so that e.g. yellow-on-white
  stripes count), plus scale-normalised Hessian determinants for blobs. Per pixel:
  horizontal / vertical / diagonal stripes = one orientation dominating the others;
  checkerboard = both diagonals strong and both axes weak (an axis-aligned checkerboard has no
  energy on the axes); polka dots = blob-like curvature (positive Hessian determinant) clearly
  outweighing saddles. Each map is in [0, 1], roughly "how surely this pixel sits in the pattern".
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
            masks.append(chromatic & in_range)
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


def hessian_bank(size: int, sigmas: tuple[float, ...]) -> torch.Tensor:
    """Scale-normalised Gaussian second-derivative filters (xx, yy, xy), [S, 3, size, size]."""
    fy, fx = _frequency_grid(size)
    bank = torch.zeros(len(sigmas), 3, size, size, dtype=torch.float64)
    for i, sigma in enumerate(sigmas):
        gauss = torch.exp(-2 * math.pi**2 * sigma**2 * (fx**2 + fy**2)) * sigma**2
        bank[i, 0] = -4 * math.pi**2 * fx**2 * gauss
        bank[i, 1] = -4 * math.pi**2 * fy**2 * gauss
        bank[i, 2] = -4 * math.pi**2 * fx * fy * gauss
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
        blob_sigmas: tuple[float, ...] = (1.5, 2.5, 4.0, 6.0),
        pad: int = 24,
        energy_floor: float = 2e-3,
        blob_floor: float = 2e-2,
        blob_ratio: float = 1.5,
    ) -> None:
        super().__init__()
        self.pad = pad
        self.blob_sigmas = blob_sigmas
        self.blob_ratio = blob_ratio
        self.energy_floor = energy_floor
        self.blob_floor = blob_floor
        size = WORK_SIZE + 2 * pad
        orientations = (0.0, 45.0, 90.0, 135.0)
        self.register_buffer("gabor", log_gabor_bank(size, centre_freqs, orientations))
        # Real, even filters: only the non-negative x frequencies are needed with rfft2.
        self.register_buffer("hessian", hessian_bank(size, blob_sigmas)[..., : size // 2 + 1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Pattern membership maps in [0, 1]."""
        small = F.adaptive_avg_pool2d(images.clamp(0.0, 1.0), WORK_SIZE)
        small = small - small.mean(dim=(2, 3), keepdim=True)
        padded = F.pad(small, (self.pad,) * 4, mode="reflect")
        crop = (slice(None),) * 3 + (slice(self.pad, -self.pad),) * 2
        stripes = self._stripe_maps(torch.fft.fft2(padded), crop)
        # Blobs where a stripe or checker pattern dominates are pattern artefacts, not dots.
        dots = self._dot_map(torch.fft.rfft2(padded), crop)
        dots = dots * (1.0 - stripes.amax(dim=1, keepdim=True))
        return torch.cat([stripes, dots], dim=1)

    def _stripe_maps(self, spectrum: torch.Tensor, crop: tuple) -> torch.Tensor:
        best = None
        for bank in self.gabor:  # one scale: [4 orientations, H, W]
            response = torch.fft.ifft2(spectrum[:, :, None] * bank[None, None])
            energy = torch.view_as_real(response[crop]).square().sum(dim=(1, -1))  # [N, 4, h, w]
            energy = _smooth(energy, 7)
            e0, e45, e90, e135 = energy.unbind(dim=1)
            total = energy.sum(dim=1) + self.energy_floor
            diag_hi, diag_lo = torch.maximum(e45, e135), torch.minimum(e45, e135)
            axis_hi = torch.maximum(e0, e90)
            maps = torch.stack(
                [
                    F.relu(e90 - 2 * torch.stack([e0, e45, e135]).amax(0)) / total,
                    F.relu(e0 - 2 * torch.stack([e90, e45, e135]).amax(0)) / total,
                    F.relu(diag_hi - 2 * torch.maximum(axis_hi, diag_lo)) / total,
                    (2 * F.relu(diag_lo - 2 * axis_hi) / total).clamp(max=1.0),
                ],
                dim=1,
            )
            best = maps if best is None else torch.maximum(best, maps)
        return best

    def _dot_map(self, spectrum: torch.Tensor, crop: tuple) -> torch.Tensor:
        best = None
        for sigma, bank in zip(self.blob_sigmas, self.hessian, strict=True):
            size = spectrum.shape[-2]
            curvature = torch.fft.irfft2(spectrum[:, :, None] * bank[None, None], s=(size, size))
            curvature = curvature[crop]
            lxx, lyy, lxy = curvature.unbind(2)
            det = (lxx * lyy - lxy**2).sum(dim=1, keepdim=True)
            # A blob's centre (det > 0) is several times stronger than the saddle-like rim around
            # it (det < 0); a checkerboard corner or a noise saddle is the other way round or
            # even. Compare the strongest of each within a window that covers one blob's rim.
            window = 2 * round(2.5 * sigma) + 1
            peak, rim = _local_max(F.relu(det), window), _local_max(F.relu(-det), window)
            dots = F.relu(peak - self.blob_ratio * rim) / (peak + self.blob_floor)
            best = dots if best is None else torch.maximum(best, dots)
        return best
