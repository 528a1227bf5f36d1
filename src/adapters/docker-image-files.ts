import { ActionError } from '../domain/errors.js'
import type { ImageFile, ImageFileReader } from '../domain/image-files.js'
import type { ImageTreeWalker, TreeWalk } from '../domain/task-files.js'
import { dockerText, spawnDocker, type SpawnDocker } from './docker-byte-stream.js'
import { TarStream, type TarEntry } from './tar-entry.js'

/**
 * Reads an image's files without running anything from it: a container is created (never
 * started) so that `docker cp CONTAINER:PATH -` can stream a path out as tar, and removed
 * afterwards. The tar stream is read as raw bytes and dropped as it is parsed, so memory stays
 * bounded whatever the size of the tree or of its files.
 */
export async function withImageFiles<T>(
  image: string,
  work: (read: ImageFileReader, walk: ImageTreeWalker) => Promise<T>,
  spawnIt: SpawnDocker = spawnDocker
): Promise<T> {
  // The entrypoint override only satisfies `docker create`; the container never starts.
  const created = await dockerText(spawnIt, [
    'create',
    '--entrypoint',
    '/lambda-image-deploy-never-run',
    image
  ])
  const container = created.stdout.trim()
  if (created.exitCode !== 0 || container === '') {
    throw new ActionError(
      'docker-create-failed',
      `Could not create a (never started) container from ${image} to read its files (docker create: ${lastLines(created.stderr)}).`,
      'Check that the engine has disk space and that the image is loaded (docker image ls); the checks read files with docker cp.'
    )
  }
  try {
    return await work(
      path => readImageFile(spawnIt, container, path),
      (directory, visit) =>
        walkImageTree(spawnIt, container, directory, entry =>
          visit({ ...entry, path: absolutePath(directory, entry.path) })
        )
    )
  } finally {
    await dockerText(spawnIt, ['rm', '--force', container])
  }
}

/** Enough of a file for an ELF header or a #! line. */
const HEAD_BYTES = 4096

/** One path of the image, with its first bytes; docker cp is stopped once they are read. */
async function readImageFile(
  spawnIt: SpawnDocker,
  container: string,
  path: string
): Promise<ImageFile> {
  let first: TarEntry | undefined
  const tar = new TarStream(entry => {
    first = entry
    return 'stop'
  }, HEAD_BYTES)
  const copy = await copyOut(spawnIt, container, path, tar)
  if (first) {
    return {
      path,
      kind: first.kind,
      mode: first.mode,
      uid: first.uid,
      linkTarget: first.linkTarget,
      head: first.head
    }
  }
  if (copy.missing) return { path, kind: 'missing', mode: 0, uid: 0, head: new Uint8Array() }
  throw new ActionError(
    'docker-cp-failed',
    `Could not read ${path} from the image (docker cp: ${copy.problem}).`,
    'Check that the Docker engine is running and has the image; the checks read its files with docker cp, and nothing in the image is run.'
  )
}

/** Streams every entry under `directory` to `visit`, in the order docker writes them. */
async function walkImageTree(
  spawnIt: SpawnDocker,
  container: string,
  directory: string,
  visit: (entry: TarEntry) => void
): Promise<TreeWalk> {
  const tar = new TarStream(entry => {
    visit(entry)
  })
  const copy = await copyOut(spawnIt, container, directory, tar)
  if (copy.missing) return { status: 'missing' }
  if (copy.problem !== undefined) {
    return { status: 'incomplete', entries: tar.entries, reason: copy.problem }
  }
  return { status: 'complete', entries: tar.entries }
}

interface CopyOutcome {
  /** The path does not exist in the image. */
  readonly missing: boolean
  /** Why the stream was not read to its end (unless the reader stopped it on purpose). */
  readonly problem: string | undefined
}

/** docker's words for a path that is not in the container's file system. */
const NOT_FOUND = /could not find the file|no such file or directory|not a directory/i

/** `docker cp CONTAINER:PATH -` into `tar`, chunk by chunk as docker writes it. */
async function copyOut(
  spawnIt: SpawnDocker,
  container: string,
  path: string,
  tar: TarStream
): Promise<CopyOutcome> {
  const docker = spawnIt(['cp', `${container}:${path}`, '-'])
  let stopped = false
  docker.stdout.on('data', (chunk: Buffer) => {
    // Whatever arrives after the end or a stop is drained and dropped. A whole archive is left
    // to finish by itself; a reader that has enough, or a stream not understood, ends docker.
    if (stopped || tar.push(chunk)) return
    stopped = true
    if (!tar.ended) docker.stop()
  })
  const exit = await docker.exited
  if (tar.problem !== undefined) return { missing: false, problem: tar.problem }
  // Read to the end-of-archive marker, or stopped on purpose by a reader that had enough: the
  // exit status of a stopped process says nothing more.
  if (tar.done) return { missing: false, problem: undefined }
  if (exit.exitCode !== 0) {
    const missing = tar.entries === 0 && NOT_FOUND.test(exit.stderr)
    return {
      missing,
      problem: missing
        ? undefined
        : `docker cp ${exit.exitCode === null ? 'was stopped' : `exited with code ${exit.exitCode}`}: ${lastLines(exit.stderr) || 'no error output'}`
    }
  }
  return { missing: false, problem: tar.finish() }
}

/** docker cp names entries after the directory's last component: task/, task/index.mjs, ... */
function absolutePath(directory: string, entryPath: string): string {
  const parent = directory.replace(/\/+$/, '').replace(/[^/]*$/, '')
  return `${parent}${entryPath}`.replace(/\/+$/, '') || '/'
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n')
}
