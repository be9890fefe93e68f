import { extname } from 'node:path';

const MIME_BY_EXT: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.txt': 'text/plain',
};

export function mimeOf(fileName: string): string {
  return MIME_BY_EXT[extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

/** The server re-encodes videos, notes and photos into fixed types; documents keep theirs. */
export function mimeFor(field: string, fileName: string, sent: string): string {
  if (field === 'video' || field === 'video_note') return 'video/mp4';
  if (field === 'photo') return 'image/jpeg';
  const byName = mimeOf(fileName);
  return byName !== 'application/octet-stream' ? byName : sent || byName;
}
