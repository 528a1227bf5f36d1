import type { Finding } from './image-checks.js'
import type { ImageFileKind } from './image-files.js'

/** One entry of a directory tree in the image, with an absolute path. */
export interface TreeEntry {
  readonly path: string
  readonly kind: ImageFileKind
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

const OTHERS_READ = 0o004
const OTHERS_EXECUTE = 0o001
const SHOWN = 8

/**
 * Lambda runs the function as a non-root user that owns none of the image's files and is in none
 * of their groups, so every file it needs must be readable by "others", and every directory on
 * the way must be searchable (o+x) and listable (o+r). Finds the entries under the task root
 * and the working directory that only their owner or group can read.
 */
export function checkTaskFilesReadable(
  roots: readonly string[],
  entries: readonly TreeEntry[]
): Finding | undefined {
  const blocked = entries.filter(entry =>
    entry.kind === 'file'
      ? (entry.mode & OTHERS_READ) === 0
      : entry.kind === 'directory'
        ? (entry.mode & (OTHERS_READ | OTHERS_EXECUTE)) !== (OTHERS_READ | OTHERS_EXECUTE)
        : false
  )
  if (blocked.length === 0) return undefined
  const shown = blocked
    .slice(0, SHOWN)
    .map(
      entry =>
        `${entry.path} (${entry.kind}, mode ${entry.mode.toString(8).padStart(4, '0')}, uid ${entry.uid})`
    )
  const more = blocked.length > SHOWN ? ` and ${blocked.length - SHOWN} more` : ''
  return {
    id: 'task-files-not-readable',
    severity: 'error',
    message: `${blocked.length} ${blocked.length === 1 ? 'entry' : 'entries'} under ${roots.join(' and ')} can be read only by their owner or group, but Lambda runs the function as a non-root user that is neither: ${shown.join(', ')}${more}.`,
    fix: `Make them readable by all in the final stage, e.g. RUN chmod -R o+rX ${roots[0] ?? '/var/task'}, or COPY --chmod=755 for directories and programs (644 for data).`
  }
}
