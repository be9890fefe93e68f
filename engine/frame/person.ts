/**
 * Where the person is, read off the probability map at model resolution, and a tracker that turns it into a
 * steady crop centre for `center: 'auto'`.
 */
export interface PersonStats {
  /** Fraction of the map where the person probability is ≥ 0.5. */
  coverage: number;
  /** Bounding box top (0..1 of the height) and the horizontal centre of the head band (0..1 of the width). */
  top: number;
  headX: number;
}

/** A frame counts as "has a person" when at least this share of it is person. */
export const PERSON_MIN_COVERAGE = 0.005;

export function measurePerson(mask: Float32Array, width: number, height: number): PersonStats {
  let count = 0;
  let top = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] >= 0.5) {
        count++;
        if (top < 0) top = y;
      }
    }
  }
  if (count === 0) return { coverage: 0, top: 0, headX: 0.5 };
  // The head is the top of the silhouette: average x over a band below the top edge, so shoulders,
  // arms and held objects do not pull the bubble sideways.
  const band = Math.max(2, Math.round(height * 0.25));
  let sx = 0;
  let n = 0;
  for (let y = top; y < Math.min(height, top + band); y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const m = mask[row + x];
      if (m >= 0.5) {
        sx += x + 0.5;
        n++;
      }
    }
  }
  return { coverage: count / (width * height), top: top / height, headX: n ? sx / n / width : 0.5 };
}

/**
 * Smooths the crop position over time: it ignores moves smaller than a dead zone (so the bubble does not
 * jitter with every breath) and glides toward larger ones; it holds still while nobody is in frame.
 */
export class CenterTracker {
  private cx = NaN;
  private cy = NaN;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly side: number,
    private readonly fixed: { x: number; y: number } | null,
    private readonly follow = 0.1,
  ) {}

  /** Returns the crop's top-left corner in frame pixels. */
  next(stats: PersonStats): { x: number; y: number } {
    const { frameWidth: W, frameHeight: H, side: S } = this;
    let tx: number;
    let ty: number;
    if (this.fixed) {
      tx = this.fixed.x * W;
      ty = this.fixed.y * H;
    } else if (stats.coverage >= PERSON_MIN_COVERAGE) {
      tx = stats.headX * W;
      // Put the top of the head a little below the bubble's top edge.
      ty = stats.top * H + S * 0.42;
    } else {
      tx = Number.isNaN(this.cx) ? W / 2 : this.cx;
      ty = Number.isNaN(this.cy) ? H / 2 : this.cy;
    }
    if (Number.isNaN(this.cx) || this.fixed) {
      this.cx = tx;
      this.cy = ty;
    } else {
      const dead = S * 0.03;
      const dx = tx - this.cx;
      const dy = ty - this.cy;
      if (Math.abs(dx) > dead) this.cx += (dx - Math.sign(dx) * dead) * this.follow;
      if (Math.abs(dy) > dead) this.cy += (dy - Math.sign(dy) * dead) * this.follow;
    }
    const x = Math.round(Math.min(Math.max(this.cx - S / 2, 0), W - S));
    const y = Math.round(Math.min(Math.max(this.cy - S / 2, 0), H - S));
    return { x, y };
  }
}
