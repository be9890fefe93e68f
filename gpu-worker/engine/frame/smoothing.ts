/**
 * Temporal smoothing of the person probability map against flicker, at model resolution (cheap: 64k values).
 *
 * An exponential moving average whose rate adapts per pixel: small changes (compression noise, model jitter)
 * are averaged with the slow rate, large changes (the person really moved) pass almost at once, so moving edges
 * do not leave a ghost trail. `strength` 0 disables it; 1 is the strongest averaging.
 */
export class MaskSmoother {
  private state: Float32Array | null = null;
  private readonly slowRate: number;

  /** Below this change a pixel is treated as noise; above NOISE + RAMP it follows immediately. */
  private static readonly NOISE = 0.12;
  private static readonly RAMP = 0.3;

  constructor(strength: number) {
    this.slowRate = 1 - 0.8 * Math.min(Math.max(strength, 0), 1);
  }

  update(prob: Float32Array): Float32Array {
    if (this.slowRate >= 1) return prob;
    if (!this.state || this.state.length !== prob.length) {
      this.state = Float32Array.from(prob);
      return this.state;
    }
    const s = this.state;
    const slow = this.slowRate;
    const fast = 1 - slow;
    const { NOISE, RAMP } = MaskSmoother;
    for (let i = 0; i < s.length; i++) {
      const d = prob[i] - s[i];
      const ad = d < 0 ? -d : d;
      let t = (ad - NOISE) / RAMP;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      s[i] += d * (slow + fast * t);
    }
    return s;
  }
}
