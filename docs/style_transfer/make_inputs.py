"""Draw the two small images the README's style-transfer example starts from (no downloads):
a disc on a gradient (the content) and diagonal stripes (the style)."""

import numpy as np
from PIL import Image

side = 64
rows, cols = np.mgrid[0:side, 0:side] / (side - 1)
disc = ((rows - 0.5) ** 2 + (cols - 0.45) ** 2) < 0.09
content = np.stack([0.2 + 0.6 * cols, 0.3 + 0.4 * rows, np.where(disc, 0.9, 0.25)], axis=-1)
content[disc, :2] = 0.95
stripes = np.sin(2 * np.pi * (rows + cols) * 4) > 0
style = np.stack([np.where(stripes, 0.9, 0.1), np.where(stripes, 0.5, 0.2), np.where(stripes, 0.1, 0.7)], axis=-1)
Image.fromarray((content * 255).astype(np.uint8)).save("content.png")
Image.fromarray((style * 255).astype(np.uint8)).save("style.png")
