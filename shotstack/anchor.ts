import type { ClipPosition } from './types.js';

/**
 * The inverse of Shotstack's placement rule: `position` anchors a clip's box to one of nine points of the
 * viewport and `offset` moves it by a fraction of the viewport (x of the width, y of the height, +y = up).
 * Given the box we want on screen, this returns the offset that puts it there for a given anchor. The bubble and
 * everything drawn around it (the ring) go through this one function, so they line up by construction.
 */
export interface PixelBox {
  /** Top-left corner in output pixels (y down). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export function anchorColumn(position: ClipPosition): 0 | 1 | 2 {
  if (position === 'topLeft' || position === 'left' || position === 'bottomLeft') return 0;
  if (position === 'topRight' || position === 'right' || position === 'bottomRight') return 2;
  return 1;
}

export function anchorRow(position: ClipPosition): 0 | 1 | 2 {
  return position.startsWith('top') ? 0 : position.startsWith('bottom') ? 2 : 1;
}

export function anchorOffset(position: ClipPosition, box: PixelBox, frame: { width: number; height: number }): { x: number; y: number } {
  const { width: W, height: H } = frame;
  const col = anchorColumn(position);
  const row = anchorRow(position);
  // Pixel distance from the anchored spot (+x right, +y down), then converted to Shotstack's fractions.
  const dx = col === 0 ? box.x : col === 2 ? box.x + box.width - W : box.x + box.width / 2 - W / 2;
  const dy = row === 0 ? box.y : row === 2 ? box.y + box.height - H : box.y + box.height / 2 - H / 2;
  return { x: dx / W, y: dy === 0 ? 0 : -dy / H }; // no -0 in the JSON
}
