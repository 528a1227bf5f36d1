import type { Finding } from './image-checks.js'
import { IMAGE_ARCHITECTURE, type LambdaArchitecture } from './lambda-limits.js'

/**
 * Checks on the file ENTRYPOINT names, read from the image itself. Lambda requires the
 * entrypoint to be an absolute path that is not a symbolic link, runs it as a non-root user, and
 * fails with "exec format error" when the program is for another architecture than the function;
 * an old BuildKit even stamps the requested platform on an image whose programs are for another
 * one, so the image config alone cannot be trusted for that.
 */

export type ImageFileKind = 'file' | 'symlink' | 'directory' | 'missing' | 'other'

/** One entry of the image's file system, as a tar header shows it, with the file's first bytes. */
export interface ImageFile {
  readonly path: string
  readonly kind: ImageFileKind
  readonly mode: number
  readonly uid: number
  readonly linkTarget?: string
  /** The first bytes of a regular file (enough for an ELF header or a #! line). */
  readonly head: Uint8Array
}

/** Reads one path of the image; the adapter behind it runs nothing from the image. */
export type ImageFileReader = (path: string) => Promise<ImageFile>

// ELF header: e_machine is the 16-bit field at offset 18 (System V ABI, "ELF Header").
const ELF_MACHINES: Record<number, string> = {
  0x3e: 'amd64',
  0xb7: 'arm64',
  0x03: '386',
  0x28: 'arm'
}
const MAX_LINK_HOPS = 8

export async function checkEntrypointFile(
  entrypoint: readonly string[],
  architecture: LambdaArchitecture,
  read: ImageFileReader
): Promise<Finding[]> {
  const program = entrypoint[0]
  if (program === undefined || !program.startsWith('/')) return []
  const file = await read(program)
  if (file.kind === 'missing') {
    return [
      finding(
        'entrypoint-missing',
        `ENTRYPOINT names ${program}, which does not exist in the image.`,
        'COPY the program to that path in the final stage, or correct the ENTRYPOINT path.'
      )
    ]
  }
  if (file.kind === 'symlink') {
    return [
      finding(
        'entrypoint-symlink',
        `ENTRYPOINT ${program} is a symbolic link (to ${file.linkTarget ?? '?'}); Lambda requires the entrypoint to be a regular file.`,
        `Point ENTRYPOINT at the link's target, e.g. ENTRYPOINT ["${resolveLink(program, file.linkTarget ?? '')}"].`
      )
    ]
  }
  if (file.kind !== 'file') {
    return [
      finding(
        'entrypoint-not-a-file',
        `ENTRYPOINT ${program} is a ${file.kind}, not a program.`,
        'Point ENTRYPOINT at an executable file.'
      )
    ]
  }
  const findings: Finding[] = []
  const script = startsWithShebang(file.head)
  // Lambda runs the function as a non-root user that owns nothing in the image: the "other"
  // permission bits are the ones that count (a script must also be readable to be interpreted).
  const needed = script ? 0o005 : 0o001
  if ((file.mode & needed) !== needed) {
    findings.push(
      finding(
        'entrypoint-not-executable',
        `ENTRYPOINT ${program} has mode ${file.mode.toString(8).padStart(4, '0')}; Lambda's non-root user cannot ${script ? 'read and execute' : 'execute'} it.`,
        `Make it executable for everyone in the Dockerfile: RUN chmod 755 ${program} (or COPY --chmod=755).`
      )
    )
  }
  const machine = await programArchitecture(file, read)
  const wanted = IMAGE_ARCHITECTURE[architecture]
  if (machine !== undefined && machine.architecture !== wanted) {
    findings.push(
      finding(
        'entrypoint-wrong-architecture',
        `${machine.path}${machine.path === program ? '' : ` (the interpreter of ENTRYPOINT ${program})`} is a linux/${machine.architecture} program, but the function runs on ${architecture} (linux/${wanted}); Lambda would fail with "exec format error".`,
        `Build the image for linux/${wanted}: remove FROM --platform overrides or COPY of binaries built for another architecture.`
      )
    )
  }
  return findings
}

/** The architecture of the program itself, or of a script's interpreter; undefined if unknown. */
async function programArchitecture(
  file: ImageFile,
  read: ImageFileReader
): Promise<{ path: string; architecture: string } | undefined> {
  const elf = elfArchitecture(file.head)
  if (elf !== undefined) return { path: file.path, architecture: elf }
  const interpreter = shebangInterpreter(file.head)
  if (interpreter === undefined) return undefined
  let current = await read(interpreter)
  for (let hop = 0; current.kind === 'symlink' && hop < MAX_LINK_HOPS; hop += 1) {
    current = await read(resolveLink(current.path, current.linkTarget ?? ''))
  }
  const architecture = current.kind === 'file' ? elfArchitecture(current.head) : undefined
  return architecture === undefined ? undefined : { path: current.path, architecture }
}

export function elfArchitecture(head: Uint8Array): string | undefined {
  if (
    head.length < 20 ||
    head[0] !== 0x7f ||
    head[1] !== 0x45 ||
    head[2] !== 0x4c ||
    head[3] !== 0x46
  ) {
    return undefined
  }
  const littleEndian = head[5] === 1
  const machine = littleEndian ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!
  return ELF_MACHINES[machine] ?? `elf-machine-${machine}`
}

function startsWithShebang(head: Uint8Array): boolean {
  return head[0] === 0x23 && head[1] === 0x21
}

function shebangInterpreter(head: Uint8Array): string | undefined {
  if (!startsWithShebang(head)) return undefined
  const line = new TextDecoder().decode(head).slice(2).split('\n')[0] ?? ''
  const interpreter = line.trim().split(/\s+/)[0]
  return interpreter?.startsWith('/') ? interpreter : undefined
}

export function resolveLink(linkPath: string, target: string): string {
  if (target.startsWith('/')) return target
  const parts = linkPath.split('/').slice(0, -1)
  for (const part of target.split('/')) {
    if (part === '..') parts.pop()
    else if (part !== '.' && part !== '') parts.push(part)
  }
  return `/${parts.filter(part => part !== '').join('/')}`
}

function finding(id: string, message: string, fix: string): Finding {
  return { id, severity: 'error', message, fix }
}
