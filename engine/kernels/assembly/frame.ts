// AssemblyScript: the frame copy and the refined map in the refine kernel's memory, shared by its parts (refine.ts
// evaluates into the map, compose.ts cuts the bubble from both). Set once per refiner by setPlanes.

/** Frame width in pixels; planar yuv420p planes at pY, pU, pV; the refined map (f32 per frame pixel) at pOut. */
export let W: i32 = 0;
export let pY: usize = 0;
export let pU: usize = 0;
export let pV: usize = 0;
export let pOut: usize = 0;

export function setPlanes(width: i32, y: usize, u: usize, v: usize, out: usize): void {
  W = width;
  pY = y;
  pU = u;
  pV = v;
  pOut = out;
}
