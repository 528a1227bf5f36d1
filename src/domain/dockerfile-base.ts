import {
  expandWord,
  parseDockerfileSyntax,
  splitWords,
  type DockerfileInstruction,
  type EscapeCharacter,
  type ExpansionContext,
  type VariableValue
} from './dockerfile-syntax.js'
import { ActionError } from './errors.js'
import { DOCKER_HUB, parseImageName, type ImageName } from './image-name.js'
import { BASE_IMAGE_DIGEST_LABEL, BASE_IMAGE_NAME_LABEL } from './oci-labels.js'

/**
 * Which external image the built image starts from: the final (or target) stage's FROM, followed
 * through named stages to the first FROM that names an image. Pure; it reads the Dockerfile the
 * way BuildKit does (docs: https://docs.docker.com/reference/dockerfile/#from), so the answer is
 * known before anything is built.
 */

export interface BaseImageOptions {
  /** The stage to build (`--target`); the last stage when absent. */
  readonly target?: string
  /** `--build-arg` values; they override ARG defaults. */
  readonly buildArgs?: Readonly<Record<string, string>>
  /** The platform built for, `os/arch[/variant]`; fills TARGETPLATFORM, TARGETOS, TARGETARCH... */
  readonly platform?: string
  /**
   * The builder's own platform; fills BUILDPLATFORM, BUILDOS, BUILDARCH... Unknown (and kept as
   * written) when absent, which is all the base image needs.
   */
  readonly buildPlatform?: string
}

export interface StageRef {
  readonly index: number
  /** Lower-cased, as BuildKit keeps stage names; null for a stage without AS. */
  readonly name: string | null
}

/** One FROM on the way from the target stage to the external image. */
export interface StageLink extends StageRef {
  /** 1-based line of the FROM. */
  readonly line: number
  /** What follows FROM after ARG substitution: a stage name, an image or `scratch`. */
  readonly from: string
  /** This FROM's own --platform after substitution, or null. */
  readonly platform: string | null
}

/**
 * An external image a stage starts FROM, copies files from with `COPY --from=IMAGE`, or mounts
 * with `RUN --mount=...,from=IMAGE`.
 */
export interface StageImage {
  readonly name: string
  readonly reference: ImageName
  /** The stage holding the instruction. */
  readonly stage: StageRef
  readonly line: number
  readonly instruction: 'FROM' | 'COPY' | 'RUN'
  /**
   * The platform BuildKit pulls the image for: a FROM's own --platform after substitution; null
   * for the platform built for (COPY --from and RUN --mount images always take that one).
   */
  readonly platform: string | null
  /** Whether `platform` still holds a variable only the builder knows (e.g. $BUILDPLATFORM). */
  readonly platformIsSymbolic: boolean
}

/** An external image that files are copied from (`COPY --from=IMAGE`, `RUN --mount=from=IMAGE`). */
export type CopiedImage = StageImage

/**
 * A source the build fetches whose content the Dockerfile does not pin: `ADD <url>` without
 * --checksum, `ADD <git repository>`, a `RUN --mount` whose from= holds a variable, an ADD source
 * that starts with a variable (it may expand to a URL). Its content is known only by fetching it.
 */
export interface UnpinnedSource {
  readonly instruction: 'ADD' | 'RUN'
  readonly line: number
  readonly stage: StageRef
  readonly kind: 'url' | 'git' | 'variable'
  /** As written. */
  readonly source: string
}

/** The BuildKit frontend image that reads the Dockerfile, and where it is named. */
export interface FrontendImage {
  readonly name: string
  readonly reference: ImageName
  /** 1-based line of the `# syntax=` directive; null when named by the BUILDKIT_SYNTAX build arg. */
  readonly line: number | null
}

export interface DockerfileBase {
  /** The stage that is built. */
  readonly target: StageRef
  /** The base image as written after ARG substitution; null when the chain ends in scratch. */
  readonly name: string | null
  readonly reference: ImageName | null
  readonly scratch: boolean
  /** Whether the base is one of AWS's Lambda base images (see isAwsLambdaBaseImage). */
  readonly isAwsLambdaBase: boolean
  /**
   * The --platform of the FROM that names the base image, which is the platform the whole chain
   * is built for (a stage built FROM another stage takes that stage's platform). Null if none.
   */
  readonly platform: string | null
  /** Whether `platform` still holds a variable only the builder knows (e.g. $BUILDPLATFORM). */
  readonly platformIsSymbolic: boolean
  /** 1-based line of the FROM that names the base image (or scratch). */
  readonly line: number
  /** From the target stage to the stage whose FROM names the base image. */
  readonly chain: readonly StageLink[]
  /** External images copied from by the target stage and the stages it depends on. */
  readonly copiedFrom: readonly CopiedImage[]
  /**
   * The external FROM images of the target stage and every stage it depends on (the base
   * image among them), by line: what the build pulls besides copiedFrom.
   */
  readonly stageImages: readonly StageImage[]
  /** What the needed stages fetch without a pin in the Dockerfile, by line. */
  readonly unpinnedSources: readonly UnpinnedSource[]
  /** The frontend images the build runs (`# syntax=`, BUILDKIT_SYNTAX); empty for the built-in one. */
  readonly frontends: readonly FrontendImage[]
}

// https://docs.docker.com/reference/dockerfile/#automatic-platform-args-in-the-global-scope
const TARGET_PLATFORM_ARGS = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT'] as const
const BUILD_PLATFORM_ARGS = ['BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT'] as const
const PLATFORM = /^([a-z0-9_-]+)\/([a-z0-9_-]+)(?:\/([a-z0-9_-]+))?$/i
// BuildKit's rule for names after AS.
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/
const SCRATCH = 'scratch'
// https://docs.docker.com/build/buildkit/frontend/#stable-channel: names the frontend image.
const BUILDKIT_SYNTAX_ARG = 'BUILDKIT_SYNTAX'

// AWS's base images for Lambda: https://docs.aws.amazon.com/lambda/latest/dg/images-create.html
// They are published on ECR Public (public.ecr.aws/lambda/*) and on Docker Hub
// (amazon/aws-lambda-*). An image in a private ECR registry is the user's own, even if mirrored.
const AWS_PUBLIC_REGISTRY = 'public.ecr.aws'
const AWS_PUBLIC_LAMBDA_PREFIX = 'lambda/'
const AWS_DOCKER_HUB_LAMBDA_PREFIX = 'amazon/aws-lambda-'

interface Stage extends StageRef {
  readonly line: number
  readonly baseWord: string
  readonly platformWord: string | null
  /** `COPY --from` values, as written (BuildKit does not expand them). */
  readonly copies: { readonly from: string; readonly line: number }[]
  /** `RUN --mount=...,from=VALUE` values, as written. */
  readonly mounts: { readonly from: string; readonly line: number }[]
  /** ADD sources as written (quotes removed), and whether the ADD has --checksum. */
  readonly adds: {
    readonly line: number
    readonly sources: readonly string[]
    readonly checksum: boolean
  }[]
  /** Lines of the stage's RUN instructions. */
  readonly runs: number[]
}

type VariableLookup = (name: string) => VariableValue

interface ResolvedStage {
  readonly link: StageLink
  readonly platformIsSymbolic: boolean
  /** The earlier stage this FROM names, if it names one. */
  readonly parent: Stage | null
}

export function findDockerfileBase(
  dockerfile: string,
  options: BaseImageOptions = {}
): DockerfileBase {
  const syntax = parseDockerfileSyntax(dockerfile)
  const { lookup, stages } = splitStages(syntax.instructions, syntax.escape, options)
  const target = targetStage(stages, options.target)
  const resolver = new StageResolver(stages, lookup, syntax.escape)

  const chain: StageLink[] = []
  let stage = target
  let resolved = resolver.resolve(stage)
  chain.push(resolved.link)
  while (resolved.parent !== null) {
    stage = resolved.parent
    resolved = resolver.resolve(stage)
    chain.push(resolved.link)
  }
  const root = resolved.link
  const needed = neededImages(target, resolver)
  const reachable = reachableStages(target, resolver)
  const scratch = root.from === SCRATCH
  const reference = scratch ? null : imageNameAt(root.from, `FROM on line ${root.line}`)
  return {
    target: { index: target.index, name: target.name },
    name: scratch ? null : root.from,
    reference,
    scratch,
    isAwsLambdaBase: reference !== null && isAwsLambdaBaseImage(reference),
    platform: root.platform,
    platformIsSymbolic: resolved.platformIsSymbolic,
    line: root.line,
    chain,
    copiedFrom: needed.copied,
    stageImages: needed.fromImages,
    unpinnedSources: [
      ...reachable.flatMap(unpinnedAdds),
      ...reachable.flatMap(stage =>
        stage.mounts
          .filter(mount => mount.from.includes('$'))
          .map(mount => ({
            instruction: 'RUN' as const,
            line: mount.line,
            stage: { index: stage.index, name: stage.name },
            kind: 'variable' as const,
            source: `from=${mount.from}`
          }))
      )
    ].sort((a, b) => a.line - b.line),
    frontends: frontendImages(syntax.syntax, options.buildArgs ?? {})
  }
}

/**
 * The frontend images: the `# syntax=` directive's, and the BUILDKIT_SYNTAX build arg's, which
 * BuildKit uses instead when given (https://docs.docker.com/build/buildkit/frontend/). Both are
 * listed when both are present, so whichever the builder takes is pinned.
 */
function frontendImages(
  directive: { readonly image: string; readonly line: number } | null,
  buildArgs: Readonly<Record<string, string>>
): FrontendImage[] {
  const named: { name: string; line: number | null; where: string }[] = []
  if (directive !== null) {
    named.push({
      name: directive.image,
      line: directive.line,
      where: `# syntax on line ${directive.line}`
    })
  }
  const argument = Object.hasOwn(buildArgs, BUILDKIT_SYNTAX_ARG)
    ? buildArgs[BUILDKIT_SYNTAX_ARG]
    : undefined
  if (argument !== undefined && argument !== '') {
    named.push({ name: argument, line: null, where: `The build argument ${BUILDKIT_SYNTAX_ARG}` })
  }
  return named.map(({ name, line, where }) => ({
    name,
    reference: imageNameAt(name, where),
    line
  }))
}

/** ADD sources fetched from outside the context that no --checksum pins. */
function unpinnedAdds(stage: Stage): UnpinnedSource[] {
  return stage.adds.flatMap(add =>
    add.sources.flatMap(source => {
      const kind = remoteSourceKind(source)
      // --checksum makes BuildKit verify an http(s) file's sha256: its content is pinned.
      if (kind === null || (kind === 'url' && add.checksum)) return []
      return [
        {
          instruction: 'ADD' as const,
          line: add.line,
          stage: { index: stage.index, name: stage.name },
          kind,
          source
        }
      ]
    })
  )
}

/**
 * What BuildKit fetches for an ADD source: a git repository (git@, git://, ssh://, or an http(s)
 * URL of a .git repository), a file over http(s), or, for a source that starts with a variable,
 * possibly either. Null for a path in the context (or a heredoc).
 */
export function remoteSourceKind(source: string): UnpinnedSource['kind'] | null {
  if (/^(git@|git:\/\/|ssh:\/\/)/i.test(source)) return 'git'
  if (/^https?:\/\//i.test(source)) {
    const [address = ''] = source.split('#')
    return /\.git\/?$/i.test(address) ? 'git' : 'url'
  }
  if (/^(github\.com|gitlab\.com|bitbucket\.org)\//i.test(source)) return 'git'
  return source.startsWith('$') ? 'variable' : null
}

/** A RUN instruction the build executes, and the platform its programs are built for. */
export interface RunStep {
  readonly line: number
  readonly stage: StageRef
  /** The stage's platform after substitution (`linux/arm64`); the target platform by default. */
  readonly platform: string
}

/**
 * The RUN instructions of the stages BuildKit builds for the target, each with the platform it
 * runs for: the --platform of the FROM that starts the stage's chain (a stage FROM another stage
 * takes that stage's platform), else the target platform. `FROM --platform=$BUILDPLATFORM`
 * stages run natively, which is why the builder's platform is an input here.
 */
export function findRunSteps(
  dockerfile: string,
  options: BaseImageOptions & { readonly platform: string; readonly buildPlatform: string }
): RunStep[] {
  const syntax = parseDockerfileSyntax(dockerfile)
  const { lookup, stages } = splitStages(syntax.instructions, syntax.escape, options)
  const resolver = new StageResolver(stages, lookup, syntax.escape)
  return reachableStages(targetStage(stages, options.target), resolver).flatMap(stage => {
    let resolved = resolver.resolve(stage)
    while (resolved.parent !== null) resolved = resolver.resolve(resolved.parent)
    const platform = resolved.link.platform ?? options.platform
    return stage.runs.map(line => ({
      line,
      stage: { index: stage.index, name: stage.name },
      platform
    }))
  })
}

/** True for AWS's Lambda base images, on ECR Public or Docker Hub. */
export function isAwsLambdaBaseImage(reference: ImageName): boolean {
  if (reference.registry === AWS_PUBLIC_REGISTRY) {
    return reference.repository.startsWith(AWS_PUBLIC_LAMBDA_PREFIX)
  }
  return (
    reference.registry === DOCKER_HUB &&
    reference.repository.startsWith(AWS_DOCKER_HUB_LAMBDA_PREFIX)
  )
}

/**
 * The OCI labels that record the base image: its fully qualified name, and its digest: the one
 * resolved for the build's platform when known, else the one the Dockerfile pins. None for
 * scratch.
 */
export function baseImageLabels(
  base: DockerfileBase,
  digest: string | null = base.reference?.digest ?? null
): Record<string, string> {
  if (base.reference === null) return {}
  const labels: Record<string, string> = { [BASE_IMAGE_NAME_LABEL]: base.reference.canonical }
  if (digest !== null) labels[BASE_IMAGE_DIGEST_LABEL] = digest
  return labels
}

/** ARGs before the first FROM, and the stages with what this analysis needs from each. */
function splitStages(
  instructions: readonly DockerfileInstruction[],
  escape: EscapeCharacter,
  options: BaseImageOptions
): { lookup: VariableLookup; stages: Stage[] } {
  const platformArgs = platformArguments(options.platform, options.buildPlatform)
  const buildArgs = options.buildArgs ?? {}
  const given = (name: string): string | undefined =>
    Object.hasOwn(buildArgs, name) ? buildArgs[name] : undefined
  const globals = new Map<string, VariableValue>()
  // Outside the declared ARGs only the automatic platform args exist, and build args may set
  // those too (BuildKit applies --build-arg to them).
  const lookup = (name: string): VariableValue => {
    const declared = globals.get(name)
    if (declared !== undefined) return declared
    const automatic = platformArgs.get(name)
    if (automatic === undefined) return { state: 'unset', declared: false }
    const override = given(name)
    return override !== undefined ? { state: 'set', value: override } : automatic
  }

  const stages: Stage[] = []
  for (const instruction of instructions) {
    const stage = stages[stages.length - 1]
    if (instruction.keyword === 'FROM') {
      const from = parseFrom(instruction, escape)
      if (from.name !== null && stages.some(earlier => earlier.name === from.name)) {
        throw new ActionError(
          'dockerfile-duplicate-stage',
          `FROM on line ${instruction.line} names a second stage "${from.name}".`,
          'Give every stage its own name after AS.'
        )
      }
      stages.push({
        index: stages.length,
        name: from.name,
        line: instruction.line,
        baseWord: from.base,
        platformWord: from.platform,
        copies: [],
        mounts: [],
        adds: [],
        runs: []
      })
    } else if (instruction.keyword === 'ARG' && stage === undefined) {
      // Only ARGs before the first FROM are seen by FROM lines.
      for (const word of splitWords(instruction.arguments, escape)) {
        const equals = word.indexOf('=')
        const name = equals < 0 ? word : word.slice(0, equals)
        const override = given(name)
        const fallback = platformArgs.get(name) ?? { state: 'unset', declared: true }
        globals.set(
          name,
          override !== undefined
            ? { state: 'set', value: override }
            : equals < 0
              ? fallback
              : defaultValue(word.slice(equals + 1), {
                  escape,
                  lookup,
                  allowSymbolic: true,
                  where: `ARG on line ${instruction.line}`
                })
        )
      }
    } else if (instruction.keyword === 'COPY' && stage !== undefined) {
      const from = copyFromFlag(instruction, escape)
      if (from !== undefined) stage.copies.push({ from, line: instruction.line })
    } else if (instruction.keyword === 'RUN' && stage !== undefined) {
      stage.runs.push(instruction.line)
      for (const from of mountFromValues(instruction, escape)) {
        stage.mounts.push({ from, line: instruction.line })
      }
    } else if (instruction.keyword === 'ADD' && stage !== undefined) {
      stage.adds.push({ line: instruction.line, ...addSources(instruction, escape) })
    }
  }
  if (stages.length === 0) {
    throw new ActionError(
      'dockerfile-no-stage',
      'The Dockerfile has no FROM instruction.',
      'Start the build stage with FROM, e.g. FROM public.ecr.aws/lambda/nodejs:22.'
    )
  }
  return { lookup, stages }
}

/** An ARG default holding a builder-only variable stays symbolic as a whole. */
function defaultValue(word: string, context: ExpansionContext): VariableValue {
  const expanded = expandWord(word, context)
  return expanded.symbolic ? { state: 'symbolic' } : { state: 'set', value: expanded.value }
}

function platformArguments(
  platform: string | undefined,
  buildPlatform: string | undefined
): Map<string, VariableValue> {
  return new Map([
    ...platformValues(TARGET_PLATFORM_ARGS, platform),
    ...platformValues(BUILD_PLATFORM_ARGS, buildPlatform)
  ])
}

/** PLATFORM, OS, ARCH and VARIANT of one platform, or symbolic when it is not known. */
function platformValues(
  names: readonly [string, string, string, string],
  platform: string | undefined
): [string, VariableValue][] {
  if (platform === undefined) return names.map(name => [name, { state: 'symbolic' }])
  const parts = PLATFORM.exec(platform)
  if (parts === null) {
    throw new ActionError(
      'invalid-platform',
      `"${platform}" is not a platform.`,
      'Write it as OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64.'
    )
  }
  const values = [platform, parts[1], parts[2], parts[3]]
  return names.map((name, index) => [name, { state: 'set', value: values[index] ?? '' }])
}

function parseFrom(
  instruction: DockerfileInstruction,
  escape: EscapeCharacter
): { base: string; name: string | null; platform: string | null } {
  const where = `FROM on line ${instruction.line}`
  const words = splitWords(instruction.arguments, escape)
  const flags = leadingFlags(words, where)
  const [base, as, name, ...extra] = words.slice(flags.count)
  const valid =
    base !== undefined &&
    extra.length === 0 &&
    (as === undefined || (as.toLowerCase() === 'as' && name !== undefined))
  if (!valid) {
    throw new ActionError(
      'dockerfile-invalid-from',
      `${where} is not "FROM [--platform=PLATFORM] IMAGE [AS NAME]": "FROM ${instruction.arguments}".`,
      'Fix that FROM line.'
    )
  }
  const stageName = name?.toLowerCase() ?? null
  if (stageName !== null && !STAGE_NAME.test(stageName)) {
    throw new ActionError(
      'dockerfile-invalid-stage-name',
      `${where} names a stage "${name}"; stage names start with a letter and contain only letters, digits, -, _ and .`,
      'Rename the stage.'
    )
  }
  return { base, name: stageName, platform: flags.values.get('platform') ?? null }
}

function copyFromFlag(
  instruction: DockerfileInstruction,
  escape: EscapeCharacter
): string | undefined {
  const words = splitWords(instruction.arguments, escape)
  return leadingFlags(words, `COPY on line ${instruction.line}`).values.get('from')
}

/** The from= of each `--mount=` flag of a RUN (CSV fields, as BuildKit reads them). */
function mountFromValues(instruction: DockerfileInstruction, escape: EscapeCharacter): string[] {
  const values: string[] = []
  for (const word of splitWords(instruction.arguments, escape)) {
    if (!word.startsWith('--')) break
    const match = /^--mount=(.*)$/i.exec(word)
    if (match === null) continue
    for (const field of unquote(match[1] ?? '').split(',')) {
      const equals = field.indexOf('=')
      if (equals < 0) continue
      const key = field.slice(0, equals).trim().toLowerCase()
      const value = unquote(field.slice(equals + 1).trim())
      if (key === 'from' && value !== '') values.push(value)
    }
  }
  return values
}

/** An ADD's sources (every argument but the destination) and whether it has --checksum. */
function addSources(
  instruction: DockerfileInstruction,
  escape: EscapeCharacter
): { sources: string[]; checksum: boolean } {
  const words = splitWords(instruction.arguments, escape)
  let checksum = false
  let count = 0
  for (const word of words) {
    if (!word.startsWith('--')) break
    count += 1
    if (/^--checksum=./i.test(word)) checksum = true
  }
  const rest = words.slice(count).join(' ').trim()
  let argumentsList: string[]
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest)
      argumentsList = Array.isArray(parsed) ? parsed.map(String) : []
    } catch {
      argumentsList = words.slice(count).map(unquote)
    }
  } else {
    argumentsList = words.slice(count).map(unquote)
  }
  return { sources: argumentsList.slice(0, -1), checksum }
}

function unquote(word: string): string {
  const quote = word[0]
  if ((quote === '"' || quote === "'") && word.length >= 2 && word.endsWith(quote)) {
    return word.slice(1, -1)
  }
  return word
}

/** `--name=value` words before the first other word, as BuildKit reads instruction flags. */
function leadingFlags(
  words: readonly string[],
  where: string
): { count: number; values: Map<string, string> } {
  const values = new Map<string, string>()
  let count = 0
  for (const word of words) {
    if (!word.startsWith('--')) break
    count += 1
    if (word === '--') break
    const equals = word.indexOf('=')
    const name = (equals < 0 ? word.slice(2) : word.slice(2, equals)).toLowerCase()
    if ((name === 'platform' || name === 'from') && equals < 0) {
      throw new ActionError(
        'dockerfile-flag-without-value',
        `${where} has --${name} without a value.`,
        `Write --${name}=VALUE, with "=".`
      )
    }
    if (equals >= 0) values.set(name, word.slice(equals + 1))
  }
  return { count, values }
}

function targetStage(stages: readonly Stage[], target: string | undefined): Stage {
  if (target === undefined || target === '') return stages[stages.length - 1] as Stage
  const wanted = target.toLowerCase()
  const stage = stages.find(candidate => candidate.name === wanted)
  if (stage !== undefined) return stage
  const names = stages.flatMap(candidate => (candidate.name === null ? [] : [candidate.name]))
  throw new ActionError(
    'dockerfile-target-not-found',
    `The Dockerfile has no stage named "${target}"${names.length > 0 ? ` (stages: ${names.join(', ')})` : ' (no stage has a name)'}.`,
    'Set target to the name after AS of the stage to build, or leave it empty to build the last stage.'
  )
}

/** Expands each stage's FROM once, on demand: stages the target does not need stay unread. */
class StageResolver {
  private readonly cache = new Map<number, ResolvedStage>()

  constructor(
    private readonly stages: readonly Stage[],
    /** What FROM sees: the ARGs before the first FROM and the automatic platform args. */
    private readonly lookup: VariableLookup,
    private readonly escape: EscapeCharacter
  ) {}

  resolve(stage: Stage): ResolvedStage {
    const cached = this.cache.get(stage.index)
    if (cached !== undefined) return cached
    const where = `FROM on line ${stage.line}`
    const lookup = this.lookup
    const from = expandWord(stage.baseWord, {
      escape: this.escape,
      lookup,
      allowSymbolic: false,
      where
    }).value
    if (from === '') {
      throw new ActionError(
        'dockerfile-invalid-from',
        `${where} names no image: "${stage.baseWord}" expands to nothing.`,
        'Give the ARG it uses a value.'
      )
    }
    const platform =
      stage.platformWord === null
        ? { value: null, symbolic: false }
        : expandWord(stage.platformWord, {
            escape: this.escape,
            lookup,
            allowSymbolic: true,
            where: `--platform of ${where}`
          })
    // FROM can name only an earlier stage; a later stage of that name is an image name here.
    const parent =
      this.stages.find(candidate => candidate.index < stage.index && candidate.name === from) ??
      null
    const resolved: ResolvedStage = {
      link: {
        index: stage.index,
        name: stage.name,
        line: stage.line,
        from,
        platform: platform.value
      },
      platformIsSymbolic: platform.symbolic,
      parent
    }
    this.cache.set(stage.index, resolved)
    return resolved
  }

  /** What `COPY --from=VALUE` names: a stage (by name or index) or an external image. */
  copySource(
    value: string,
    line: number,
    instruction: 'COPY' | 'RUN' = 'COPY'
  ): { stage: Stage; image?: undefined } | { stage?: undefined; image: ImageName } {
    const where =
      instruction === 'COPY' ? `COPY --from on line ${line}` : `RUN --mount from= on line ${line}`
    // BuildKit does not expand variables in --from (moby/buildkit#2412).
    if (value.includes('$')) {
      throw new ActionError(
        'dockerfile-copy-from-variable',
        `${where} uses a variable ("${value}"), which BuildKit does not expand there.`,
        'Add a stage "FROM ${VAR} AS name" and copy with --from=name instead.'
      )
    }
    if (/^\d+$/.test(value)) {
      const stage = this.stages[Number(value)]
      if (stage === undefined) {
        throw new ActionError(
          'dockerfile-stage-not-found',
          `${where} refers to stage ${value}, but the Dockerfile has ${this.stages.length} stage(s), numbered from 0.`,
          'Use the index or name of an existing stage.'
        )
      }
      return { stage }
    }
    const named = this.stages.find(candidate => candidate.name === value.toLowerCase())
    if (named !== undefined) return { stage: named }
    return { image: imageNameAt(value, where) }
  }
}

/**
 * The stages BuildKit builds for the target: the target and every stage it builds on or copies
 * from; the others are skipped.
 */
function reachableStages(target: Stage, resolver: StageResolver): Stage[] {
  const needed = new Map<number, Stage>()
  const pending: Stage[] = [target]
  for (let stage = pending.pop(); stage !== undefined; stage = pending.pop()) {
    if (needed.has(stage.index)) continue
    needed.set(stage.index, stage)
    const parent = resolver.resolve(stage).parent
    if (parent !== null) pending.push(parent)
    for (const copy of stage.copies) {
      const source = resolver.copySource(copy.from, copy.line)
      if (source.stage !== undefined) pending.push(source.stage)
    }
    // A mount from a variable is an unpinned source: the build runs, whatever it names.
    for (const mount of stage.mounts.filter(mount => !mount.from.includes('$'))) {
      const source = resolver.copySource(mount.from, mount.line, 'RUN')
      if (source.stage !== undefined) pending.push(source.stage)
    }
  }
  return [...needed.values()].sort((a, b) => a.index - b.index)
}

/**
 * External images the target needs: each needed stage's FROM image (when it names one) and the
 * images copied from, in the target and every stage it builds on or copies from.
 */
function neededImages(
  target: Stage,
  resolver: StageResolver
): { copied: CopiedImage[]; fromImages: StageImage[] } {
  const found: CopiedImage[] = []
  const fromImages: StageImage[] = []
  for (const stage of reachableStages(target, resolver)) {
    const resolved = resolver.resolve(stage)
    if (resolved.parent === null && resolved.link.from !== SCRATCH) {
      fromImages.push({
        name: resolved.link.from,
        reference: imageNameAt(resolved.link.from, `FROM on line ${stage.line}`),
        stage: { index: stage.index, name: stage.name },
        line: stage.line,
        instruction: 'FROM',
        platform: resolved.link.platform,
        platformIsSymbolic: resolved.platformIsSymbolic
      })
    }
    const copies = [
      ...stage.copies.map(copy => ({ ...copy, instruction: 'COPY' as const })),
      ...stage.mounts
        .filter(mount => !mount.from.includes('$'))
        .map(mount => ({ ...mount, instruction: 'RUN' as const }))
    ]
    for (const copy of copies) {
      const source = resolver.copySource(copy.from, copy.line, copy.instruction)
      if (source.stage === undefined) {
        found.push({
          name: copy.from,
          reference: source.image,
          stage: { index: stage.index, name: stage.name },
          line: copy.line,
          instruction: copy.instruction,
          platform: null,
          platformIsSymbolic: false
        })
      }
    }
  }
  return {
    copied: found.sort((a, b) => a.line - b.line),
    fromImages: fromImages.sort((a, b) => a.line - b.line)
  }
}

function imageNameAt(value: string, where: string): ImageName {
  try {
    return parseImageName(value)
  } catch (error) {
    if (error instanceof ActionError) {
      throw new ActionError(error.id, `${where}: ${error.reason}`, error.fix)
    }
    throw error
  }
}
