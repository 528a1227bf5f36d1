import dockerignorePackage from '@balena/dockerignore'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { ContextEntry } from '../domain/build-inputs.js'

// A CommonJS package: its module.exports is the factory, and also carries it as `default`.
const dockerignore = dockerignorePackage.default

/**
 * The build context as the engine receives it: every file, directory and symlink under the
 * context directory that the ignore file lets through, with its mode and a hash of its content.
 * The ignore file is BuildKit's: `<Dockerfile>.dockerignore` beside the Dockerfile when it
 * exists, else `.dockerignore` at the context's root
 * (https://docs.docker.com/build/concepts/context/#dockerignore-files). Matching is Docker's own
 * (@balena/dockerignore ports Go's implementation), so `!` can re-include a path under an
 * excluded directory.
 */
export async function readBuildContext(
  contextDir: string,
  dockerfile: string
): Promise<{ entries: ContextEntry[]; ignoreFile?: string }> {
  const ignoreFile = [`${dockerfile}.dockerignore`, path.join(contextDir, '.dockerignore')].find(
    candidate => existsSync(candidate)
  )
  const ignore = dockerignore({ ignorecase: false })
  const patterns = ignoreFile ? (await readFile(ignoreFile, 'utf8')).split(/\r?\n/) : []
  ignore.add(patterns)
  // Only a `!` pattern can bring back a path under an excluded directory; without one, an
  // excluded directory (node_modules, .git) is not walked at all.
  const reIncludes = patterns.some(pattern => pattern.trim().startsWith('!'))
  const entries: ContextEntry[] = []
  const walk = async (relativeDir: string): Promise<void> => {
    const names = (await readdir(path.join(contextDir, relativeDir))).sort()
    for (const name of names) {
      const relative = relativeDir === '' ? name : `${relativeDir}/${name}`
      const absolute = path.join(contextDir, relative)
      const stats = await lstat(absolute)
      const excluded = ignore.ignores(relative)
      if (stats.isDirectory()) {
        if (!excluded) entries.push(entry(relative, 'directory', stats.mode, ''))
        if (!excluded || reIncludes) await walk(relative)
      } else if (excluded) {
        continue
      } else if (stats.isSymbolicLink()) {
        entries.push(entry(relative, 'symlink', stats.mode, await readlink(absolute)))
      } else if (stats.isFile()) {
        entries.push(entry(relative, 'file', stats.mode, await fileHash(absolute)))
      }
      // Sockets, FIFOs and devices are not sent to the engine.
    }
  }
  await walk('')
  return { entries, ignoreFile }
}

function entry(
  relative: string,
  type: ContextEntry['type'],
  mode: number,
  content: string
): ContextEntry {
  return { path: relative, type, mode: mode & 0o7777, content }
}

async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}
