import type { RunStep } from './dockerfile-base.js'
import { ActionError } from './errors.js'

/**
 * Whether a build for another architecture than the engine's can run its RUN steps, decided
 * before the build, and the same failure recognised after it. Pure: the docker adapter and
 * src/adapters/kernel-emulators.ts gather the facts.
 *
 * BuildKit runs a RUN step's programs for the stage's platform; for a foreign one the kernel
 * hands them to a user-mode emulator (QEMU) registered in binfmt_misc, or, when none is
 * registered, refuses them: `exec /bin/sh: exec format error`. Stages without RUN steps (FROM,
 * COPY, ENV...) build without emulation. Sources: https://docs.docker.com/build/building/multi-platform/
 * ("QEMU"), moby/buildkit docs/multi-platform.md (the exec format error and its causes), and
 * https://docs.kernel.org/admin-guide/binfmt-misc.html (registrations and their flags).
 */

/** One binfmt_misc registration, as /proc/sys/fs/binfmt_misc/NAME shows it. */
export interface BinfmtEntry {
  readonly name: string
  readonly enabled: boolean
  readonly interpreter: string
  readonly flags: string
  readonly offset: number
  /** Undefined for an extension-matching (`extension .exe`) registration. */
  readonly magic?: Buffer
  readonly mask?: Buffer
}

/** The binfmt_misc state of the kernel that the engine runs containers on. */
export interface KernelEmulators {
  /** /proc/sys/fs/binfmt_misc/status: `disabled` turns every registration off. */
  readonly enabled: boolean
  readonly entries: readonly BinfmtEntry[]
}

/** What decides whether the engine can run foreign programs in a build. */
export interface EmulationFacts {
  /** The engine's own platform, `linux/amd64`. */
  readonly enginePlatform: string
  readonly builder: {
    readonly name: string
    readonly driver: string
    /** The platforms the builder reports (`docker buildx inspect`). */
    readonly platforms: readonly string[]
  }
  /**
   * The kernel's registrations when this machine is where the engine runs (a local socket, the
   * same kernel release); undefined for a remote engine, whose kernel this process cannot see.
   */
  readonly kernel?: KernelEmulators
}

/**
 * ELF `e_machine` values (the System V ABI's processor supplements) of the architectures Lambda
 * runs: x86_64 is EM_X86_64 (62), arm64 is EM_AARCH64 (183).
 */
const ELF_MACHINE: Readonly<Record<string, number>> = { amd64: 0x3e, arm64: 0xb7 }
const ELF_TYPES = { executable: 2, sharedObject: 3 } as const

/** Parses one registration file; undefined for what is not one (`status`, `register`). */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry | undefined {
  const lines = text.split('\n').map(line => line.trim())
  const first = lines[0]
  if (first !== 'enabled' && first !== 'disabled') return undefined
  if (!lines.some(line => line.startsWith('interpreter '))) return undefined
  const field = (key: string): string | undefined =>
    lines
      .find(line => line.startsWith(`${key} `) || line.startsWith(`${key}:`))
      ?.slice(key.length + 1)
      .trim()
  const hex = (value: string | undefined) =>
    value !== undefined && /^([0-9a-f]{2})+$/i.test(value) ? Buffer.from(value, 'hex') : undefined
  const magic = hex(field('magic'))
  return {
    name,
    enabled: first === 'enabled',
    interpreter: field('interpreter') ?? '',
    flags: field('flags') ?? '',
    offset: Number(field('offset') ?? 0) || 0,
    magic,
    // The kernel takes a missing mask as all ones.
    mask: magic === undefined ? undefined : (hex(field('mask')) ?? Buffer.alloc(magic.length, 0xff))
  }
}

/** The architecture part of `os/arch[/variant]`. */
export function architectureOf(platform: string): string {
  return platform.split('/')[1] ?? ''
}

/** Same OS and architecture; variants (amd64/v2, arm64/v8) do not change what runs. */
export function samePlatform(a: string, b: string): boolean {
  const [osA, archA] = a.split('/')
  const [osB, archB] = b.split('/')
  return osA === osB && archA === archB
}

/**
 * A registration that lets a container run 64-bit little-endian ELF programs of this
 * architecture: enabled, matching both executables and position-independent ones (what
 * /bin/sh usually is), and with the F flag, without which the kernel looks the interpreter up
 * inside the container's root, where it is not (kernel doc, "F - fix binary").
 */
export function emulatorFor(
  kernel: KernelEmulators,
  architecture: string
): BinfmtEntry | undefined {
  const machine = ELF_MACHINE[architecture]
  if (machine === undefined || !kernel.enabled) return undefined
  return kernel.entries.find(
    entry =>
      entry.enabled &&
      entry.flags.includes('F') &&
      Object.values(ELF_TYPES).every(type => magicMatches(entry, elfHeader(machine, type)))
  )
}

/** The first 20 bytes of an ELF64 little-endian header: ident, e_type, e_machine. */
function elfHeader(machine: number, type: number): Buffer {
  const header = Buffer.alloc(20)
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]) // \x7fELF, ELFCLASS64, little-endian, version 1
  header.writeUInt16LE(type, 16)
  header.writeUInt16LE(machine, 18)
  return header
}

function magicMatches(entry: BinfmtEntry, header: Buffer): boolean {
  const { magic, mask } = entry
  if (magic === undefined || mask === undefined) return false
  if (entry.offset + magic.length > header.length) return false
  for (let i = 0; i < magic.length; i += 1) {
    const m = mask[i] ?? 0xff
    if (((header[entry.offset + i] ?? 0) & m) !== ((magic[i] ?? 0) & m)) return false
  }
  return true
}

/** `os/arch[/variant]`, both parts present. */
const KNOWN_PLATFORM = /^[^/]+\/[^/]+(\/[^/]+)?$/

/** Whether the engine said what it runs on (docker version's Server.Os and Server.Arch). */
export function isKnownPlatform(platform: string): boolean {
  return KNOWN_PLATFORM.test(platform)
}

/** What the log says when the build goes ahead. */
export interface EmulationCheck {
  readonly note?: string
}

/**
 * Refuses, before anything is built, a build whose RUN steps run for a platform the engine can
 * neither run natively nor emulate. The kernel's registrations decide for the engine's own
 * builder on this machine (its BuildKit detects emulators when the engine starts, so
 * `docker buildx inspect` keeps listing linux/arm64 after the registration is turned off, and
 * may miss one made later, as docker/setup-qemu-action does on a runner); the builder's list
 * decides otherwise (a remote engine, or a docker-container builder, whose BuildKit may bring
 * its own emulators).
 */
export function checkEmulation(
  steps: readonly RunStep[],
  facts: EmulationFacts,
  dockerfile: string
): EmulationCheck {
  if (!isKnownPlatform(facts.enginePlatform)) {
    // An engine that does not say what it runs on: the build itself will tell.
    return {
      note: `The engine did not report its platform (${facts.enginePlatform}); emulation is not checked before the build.`
    }
  }
  const foreign = steps.filter(step => !samePlatform(step.platform, facts.enginePlatform))
  const platforms = [...new Set(foreign.map(step => step.platform))]
  const notes = platforms.map(platform => {
    const lines = foreign.filter(step => step.platform === platform).map(step => step.line)
    const runs = describeSteps(lines, dockerfile)
    const verb = lines.length === 1 ? 'runs' : 'run'
    const architecture = architectureOf(platform)
    if (facts.builder.driver === 'docker' && facts.kernel !== undefined) {
      const entry = emulatorFor(facts.kernel, architecture)
      if (entry === undefined) {
        throw emulationMissing(
          platform,
          facts.enginePlatform,
          `the kernel has no enabled binfmt_misc registration (with the F flag) for ${architecture} programs, so ${runs} would stop with "exec format error"`
        )
      }
      return `${capitalise(runs)} ${verb} for ${platform} under the emulator the kernel has registered as ${entry.name} (${entry.interpreter}).`
    }
    if (!facts.builder.platforms.some(listed => samePlatform(listed, platform))) {
      throw emulationMissing(
        platform,
        facts.enginePlatform,
        `builder ${facts.builder.name} (${facts.builder.driver} driver) lists only ${facts.builder.platforms.join(', ') || 'no platforms'}, so ${runs} cannot run`
      )
    }
    return `${capitalise(runs)} ${verb} for ${platform} under emulation: builder ${facts.builder.name} lists that platform.`
  })
  return notes.length === 0 ? {} : { note: notes.join(' ') }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** "The RUN step on line 4 of Dockerfile", "The RUN steps on lines 4, 9 of Dockerfile". */
function describeSteps(lines: readonly number[], dockerfile: string): string {
  return lines.length === 1
    ? `the RUN step on line ${lines[0]} of ${dockerfile}`
    : `the RUN steps on lines ${lines.join(', ')} of ${dockerfile}`
}

/** BuildKit's words when the kernel refuses a foreign program (no emulator registered). */
const EXEC_FORMAT_ERROR = /exec format error/i

/**
 * After the fact: a failed build for a foreign platform whose output shows the kernel refusing a
 * program. Undefined when the failure is anything else, or the build was native (there the same
 * words mean a program of the wrong architecture in the image, not a missing emulator).
 */
export function recogniseMissingEmulation(
  output: string,
  platform: string,
  enginePlatform: string
): ActionError | undefined {
  if (samePlatform(platform, enginePlatform) || !EXEC_FORMAT_ERROR.test(output)) return undefined
  const line = output
    .split('\n')
    .find(text => EXEC_FORMAT_ERROR.test(text))
    ?.trim()
  return emulationMissing(
    platform,
    enginePlatform,
    `a RUN step stopped with "${line}": the engine could not run a ${platform} program (no emulator registered, or one the builder cannot use), or the step ran a program built for yet another architecture`
  )
}

/** The error both paths give: the cause, and the two fixes that work on GitHub's runners. */
export function emulationMissing(
  platform: string,
  enginePlatform: string,
  evidence: string
): ActionError {
  const architecture = architectureOf(platform)
  // GitHub's hosted runner labels: https://docs.github.com/en/actions/reference/runners/github-hosted-runners
  const runner =
    architecture === 'arm64'
      ? 'an arm64 runner such as ubuntu-24.04-arm'
      : 'an x86_64 runner such as ubuntu-24.04'
  return new ActionError(
    'platform-emulation-missing',
    `The image is built for ${platform}, but the Docker engine runs ${enginePlatform} and cannot run ${platform} programs: ${evidence}.`,
    `Add docker/setup-qemu-action (with platforms: ${architecture}) before this step, or run the job on ${runner}, where the build runs natively. A Dockerfile whose ${platform} stages have no RUN steps (build in a FROM --platform=$BUILDPLATFORM stage and COPY the result) needs neither.`
  )
}
