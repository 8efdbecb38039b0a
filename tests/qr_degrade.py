"""Degrades QR images the way printing, screens and cameras do, for the decode-robustness
comparison (bench/qr-robustness.mjs). Every degradation is seeded, so a run is repeatable.

Reads a JSON list on standard input, one job per image:
    {"in": "a.png", "out": "a-blur.png", "kind": "blur", "seed": 7}
and writes each result (PNG, or JPEG for kind "jpeg"). Kinds:
    none       the image as it is (the control)
    down50     area-average downscale to 1/2, at a seeded sub-pixel offset
    down33     the same to 1/3
    half       exactly half: each pixel the average of a 2 × 2 block, aligned with the image
    blur       Gaussian blur, radius 1.0 to 1.6 px
    rotate     rotation by 3 to 12 degrees either way, bicubic, on white
    keystone   perspective: the top or bottom edge 8 to 16 % narrower, and a slight skew
    jpeg       JPEG at quality 20 to 40
    noise      additive noise (about 26 grey levels standard deviation)
"""

import json
import random
import sys

from PIL import Image, ImageChops, ImageFilter

WHITE = 255


def downscale(img, factor, rng):
    w, h = img.size
    dx, dy = rng.random(), rng.random()
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return img.resize(size, Image.Resampling.BOX, box=(dx, dy, dx + w - 1, dy + h - 1))


def solve(a, b):
    """Solves the linear system a x = b (Gaussian elimination with partial pivoting)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    return [m[i][n] / m[i][i] for i in range(n)]


def perspective_coeffs(dst, src):
    """Pillow's PERSPECTIVE coefficients mapping output points `dst` to input points `src`."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.append(v)
    return solve(a, b)


def keystone(img, rng):
    w, h = img.size
    inset = w * rng.uniform(0.04, 0.08)  # each side: the edge is 8-16 % narrower
    skew = h * rng.uniform(-0.03, 0.03)
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    if rng.random() < 0.5:  # the top edge is the far one
        out = [(inset, skew), (w - inset, -skew), (w, h), (0, h)]
    else:
        out = [(0, 0), (w, 0), (w - inset, h + skew), (inset, h - skew)]
    coeffs = perspective_coeffs(out, corners)
    return img.transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                         Image.Resampling.BICUBIC, fillcolor=WHITE)


def noise(img, rng):
    w, h = img.size
    # The sum of two uniform bytes is triangular (sd ≈ 52); scaled to sd ≈ 26 around 0.
    a = Image.frombytes('L', (w, h), rng.randbytes(w * h))
    b = Image.frombytes('L', (w, h), rng.randbytes(w * h))
    tri = ImageChops.add(a, b, scale=2.0)
    tri = tri.point(lambda v: max(0, min(255, round(128 + (v - 128) * 0.5))))
    return ImageChops.add(img, tri, scale=1.0, offset=-128)


def degrade(img, kind, rng):
    if kind == 'none':
        return img
    if kind == 'down50':
        return downscale(img, 1 / 2, rng)
    if kind == 'down33':
        return downscale(img, 1 / 3, rng)
    if kind == 'half':
        return img.resize((img.width // 2, img.height // 2), Image.Resampling.BOX)
    if kind == 'blur':
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 1.6)))
    if kind == 'rotate':
        angle = rng.uniform(3, 12) * rng.choice((-1, 1))
        return img.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)
    if kind == 'keystone':
        return keystone(img, rng)
    if kind == 'noise':
        return noise(img, rng)
    raise ValueError(f'unknown degradation {kind!r}')


def main():
    for job in json.load(sys.stdin):
        rng = random.Random(f"{job['kind']}/{job['seed']}")
        img = Image.open(job['in']).convert('L')
        if job['kind'] == 'jpeg':
            img.save(job['out'], 'JPEG', quality=rng.randint(20, 40))
        else:
            degrade(img, job['kind'], rng).save(job['out'], 'PNG')


if __name__ == '__main__':
    main()
