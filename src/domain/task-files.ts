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

/** How the walk of one directory ended. */
export type TreeWalk =
  | { readonly status: 'complete'; readonly entries: number }
  | { readonly status: 'missing' }
  /** Entries after the first `entries` were not seen, for `reason`. */
  | { readonly status: 'incomplete'; readonly entries: number; readonly reason: string }

/**
 * Walks a directory tree of the image, headers only, handing every entry to `visit` as it is
 * read: nothing is kept unless the visitor keeps it, so the tree's size does not matter.
 */
export type ImageTreeWalker = (
  directory: string,
  visit: (entry: TreeEntry) => void
) => Promise<TreeWalk>

const OTHERS_READ = 0o004
const OTHERS_EXECUTE = 0o001
/** Paths named in the finding; the others are counted. */
const SHOWN = 8

/**
 * Lambda runs the function as a non-root user that owns none of the image's files and is in none
 * of their groups, so every file it needs must be readable by "others", and every directory on
 * the way must be searchable (o+x) and listable (o+r). Finds the entries under the task root
 * and the working directory that only their owner or group can read, one entry at a time:
 * whatever the number of entries, it keeps the first few offenders and a count, and it says
 * which part of a tree could not be read instead of passing it.
 */
export class TaskFilesAudit {
  private blocked = 0
  private readonly shown: TreeEntry[] = []
  private readonly unchecked: string[] = []

  constructor(private readonly roots: readonly string[]) {}

  visit(entry: TreeEntry): void {
    if (!isBlocked(entry)) return
    this.blocked += 1
    if (this.shown.length < SHOWN) this.shown.push(entry)
  }

  /** Records how the walk of `root` ended; an incomplete walk is named in the finding. */
  walked(root: string, walk: TreeWalk): void {
    if (walk.status === 'incomplete') {
      this.unchecked.push(
        `${root} from its entry ${walk.entries + 1} on (${walk.entries} read: ${walk.reason})`
      )
    }
  }

  finding(): Finding | undefined {
    const notChecked =
      this.unchecked.length === 0
        ? ''
        : ` Not checked, because docker cp could not read it all: ${this.unchecked.join('; ')}.`
    if (this.blocked === 0) {
      if (notChecked === '') return undefined
      return {
        id: 'task-files-not-checked',
        severity: 'warning',
        message: `The entries under ${this.roots.join(' and ')} could not all be checked for readability by Lambda's non-root user; those read are all readable.${notChecked}`,
        fix: 'Run the check again; if it fails the same way, check the Docker engine (docker cp CONTAINER:PATH - must write the whole tree as a tar stream) and its log.'
      }
    }
    const shown = this.shown.map(
      entry =>
        `${entry.path} (${entry.kind}, mode ${entry.mode.toString(8).padStart(4, '0')}, uid ${entry.uid})`
    )
    const more = this.blocked > SHOWN ? ` and ${this.blocked - SHOWN} more` : ''
    return {
      id: 'task-files-not-readable',
      severity: 'error',
      message: `${this.blocked} ${this.blocked === 1 ? 'entry' : 'entries'} under ${this.roots.join(' and ')} can be read only by their owner or group, but Lambda runs the function as a non-root user that is neither: ${shown.join(', ')}${more}.${notChecked}`,
      fix: `Make them readable by all in the final stage, e.g. RUN chmod -R o+rX ${this.roots[0] ?? '/var/task'}, or COPY --chmod=755 for directories and programs (644 for data).`
    }
  }
}

function isBlocked(entry: TreeEntry): boolean {
  if (entry.kind === 'file') return (entry.mode & OTHERS_READ) === 0
  if (entry.kind === 'directory') {
    return (entry.mode & (OTHERS_READ | OTHERS_EXECUTE)) !== (OTHERS_READ | OTHERS_EXECUTE)
  }
  return false
}
