import type { Finding } from './image-checks.js'

/**
 * Whether the image has a recognisable Lambda runtime interface client (RIC). AWS's base images
 * include one; OS-only and non-AWS base images need one added, or the function fails at its first
 * invoke with Runtime.InvalidEntrypoint. Recognition is a heuristic, so a miss is a warning: the
 * smoke test proves the image either way.
 */
export interface RuntimeClientFacts {
  /** From the Dockerfile analysis; undefined when unknown (no Dockerfile, or a stage chain to scratch). */
  readonly awsBaseImage: boolean | undefined
  readonly entrypoint: readonly string[]
  readonly cmd: readonly string[]
  /** Absolute paths found in the task root and working directory (a TaskPathSample suffices). */
  readonly taskPaths: readonly string[]
  /** Well-known paths that exist in the image (from RUNTIME_CLIENT_PROBES). */
  readonly existing: readonly string[]
}

/** Paths whose existence marks a RIC or a custom runtime, or tells the language. */
export const RUNTIME_CLIENT_PROBES = [
  // /var/task/bootstrap is seen in the task-root listing.
  '/var/runtime/bootstrap',
  '/usr/local/lib/node_modules/aws-lambda-ric',
  '/usr/lib/node_modules/aws-lambda-ric',
  '/usr/local/bin/node',
  '/usr/bin/node',
  '/usr/local/bin/python3',
  '/usr/bin/python3',
  '/usr/bin/java',
  '/usr/bin/dotnet',
  '/usr/local/bin/ruby',
  '/usr/bin/ruby'
] as const

const RIC_WORDS =
  /aws-lambda-ric|awslambdaric|aws_lambda_ric|aws-lambda-java-runtime-interface-client|Amazon\.Lambda\.RuntimeSupport|aws-lambda-rie|aws-lambda-go/i

/** Paths that tell the function's language, in the order they are tried. */
const LANGUAGE_PATHS: readonly (readonly [string, RegExp])[] = [
  ['node', /\/node$|package\.json$|\.m?js$/],
  ['python', /\/python3$|\.py$|requirements\.txt$/],
  ['java', /\/java$|\.jar$/],
  ['dotnet', /\/dotnet$|\.dll$/],
  ['ruby', /\/ruby$|\.rb$|Gemfile$/]
]

const BOOTSTRAP_PATH = /\/bootstrap$/

const HINTS: Record<string, string> = {
  node: 'Node.js: npm install aws-lambda-ric, then ENTRYPOINT ["/usr/local/bin/npx", "aws-lambda-ric"] and CMD ["index.handler"]',
  python:
    'Python: pip install awslambdaric, then ENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"] and CMD ["app.handler"]',
  java: 'Java: add com.amazonaws:aws-lambda-java-runtime-interface-client and run com.amazonaws.services.lambda.runtime.api.client.AWSLambda',
  dotnet: '.NET: reference Amazon.Lambda.RuntimeSupport and start it from Main',
  ruby: 'Ruby: gem install aws_lambda_ric, then ENTRYPOINT ["/usr/local/bin/aws_lambda_ric"]',
  unknown:
    'add the runtime interface client for your language (Node.js aws-lambda-ric, Python awslambdaric, Java aws-lambda-java-runtime-interface-client, .NET Amazon.Lambda.RuntimeSupport, Ruby aws_lambda_ric, Go aws-lambda-go), or a custom bootstrap that speaks the Runtime API'
}

export function checkRuntimeClient(facts: RuntimeClientFacts): Finding | undefined {
  if (facts.awsBaseImage === true) return undefined
  const words = [...facts.entrypoint, ...facts.cmd].join(' ')
  const recognised =
    RIC_WORDS.test(words) ||
    facts.taskPaths.some(path => RIC_WORDS.test(path) || BOOTSTRAP_PATH.test(path)) ||
    facts.existing.some(path => /bootstrap$|aws-lambda-ric$/.test(path))
  if (recognised) return undefined
  const language = languageOf(facts)
  return {
    id: 'runtime-interface-client-not-found',
    severity: 'warning',
    message: `No Lambda runtime interface client was recognised (the image is not built FROM an AWS Lambda base image, and no known client or custom bootstrap was found); without one the function fails at its first invoke with Runtime.InvalidEntrypoint.`,
    fix: `${HINTS[language]}. Turn on smoke-test to prove the image answers the Runtime API either way.`
  }
}

function languageOf(facts: RuntimeClientFacts): string {
  const has = (pattern: RegExp) =>
    facts.existing.some(path => pattern.test(path)) ||
    facts.taskPaths.some(path => pattern.test(path))
  return LANGUAGE_PATHS.find(([, pattern]) => has(pattern))?.[0] ?? 'unknown'
}

/** Every pattern checkRuntimeClient tests task paths against. */
const TASK_PATH_PATTERNS: readonly RegExp[] = [
  RIC_WORDS,
  BOOTSTRAP_PATH,
  ...LANGUAGE_PATHS.map(([, pattern]) => pattern)
]

/**
 * The task paths checkRuntimeClient needs, gathered one entry at a time: for each pattern it
 * tests, the first path that matches. The check gives the same answer for this handful as for
 * every path of the tree, which may hold a million.
 */
export class TaskPathSample {
  private readonly kept = new Map<RegExp, string>()

  add(path: string): void {
    if (this.kept.size === TASK_PATH_PATTERNS.length) return
    for (const pattern of TASK_PATH_PATTERNS) {
      if (!this.kept.has(pattern) && pattern.test(path)) this.kept.set(pattern, path)
    }
  }

  get paths(): string[] {
    return [...new Set(this.kept.values())]
  }
}
