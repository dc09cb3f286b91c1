import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface Landed {
  events: Record<string, unknown>[];
  errors: Record<string, unknown>[];
  /** Object keys, relative to the sink, of finished objects. */
  objects: string[];
  /** Every file under the sink, hidden ones included. */
  files: string[];
}

/** Reads every finished object under a directory sink, independently of the pipeline's own code. */
export async function readLanded(sink: string): Promise<Landed> {
  const landed: Landed = { events: [], errors: [], objects: [], files: [] };
  let entries: string[];
  try {
    entries = (await readdir(sink, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(sink, path.join(e.parentPath, e.name)));
  } catch {
    return landed;
  }
  for (const file of entries.sort()) {
    landed.files.push(file);
    if (file.split(path.sep).some((part) => part.startsWith('.') || part.startsWith('_'))) continue;
    landed.objects.push(file);
    const lines = gunzipSync(await readFile(path.join(sink, file)))
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
    const target = file.startsWith(`events${path.sep}`) ? landed.events : landed.errors;
    for (const line of lines) target.push(JSON.parse(line));
  }
  return landed;
}
