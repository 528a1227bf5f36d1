import { parseArgs, type ParseArgsConfig } from 'node:util'

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>
/**
 * What every subcommand of the command-line interface is: a name, its help, and a run function
 * that gets the arguments after its name and returns the exit code. Commands write only through
 * CliIo, so tests run them without a process.
 */

/** Exit codes, the same for every command; documented in docs/CLI.md. */
export const EXIT_OK = 0
/** The command ran and found something wrong (or could not do its job). */
export const EXIT_FAILURE = 1
/** The command line itself is wrong. */
export const EXIT_USAGE = 2

export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly readTextFile: (path: string) => Promise<string>
  readonly env: Readonly<Record<string, string | undefined>>
}

export interface CliCommand {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The full `--help` text. */
  readonly help: string
  run(args: readonly string[], io: CliIo): Promise<number>
}

/** A wrong command line; the runner prints it with a pointer to --help and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * `parseArgs` with one positional argument, as every command takes: a bad option or a missing
 * or extra positional is a usage error (exit 2), and `--help` is reported as 'help'.
 */
export function parseCommandArgs<const Options extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: Options,
  messages: { readonly missing: string; readonly tooMany: (given: readonly string[]) => string }
): 'help' | { values: ParsedValues<Options>; positional: string } {
  let parsed
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } }
    })
  } catch (error) {
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code for an unknown or bad option.
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const values = parsed.values as ParsedValues<Options> & { help?: boolean }
  if (values.help === true) return 'help'
  const [positional, ...extra] = parsed.positionals
  if (positional === undefined) throw new UsageError(messages.missing)
  if (extra.length > 0) throw new UsageError(messages.tooMany(parsed.positionals))
  return { values, positional }
}

type ParsedValues<Options extends ParseArgsOptionsConfig> = {
  [K in keyof Options]?: Options[K] extends { multiple: true }
    ? Options[K] extends { type: 'boolean' }
      ? boolean[]
      : string[]
    : Options[K] extends { type: 'boolean' }
      ? boolean
      : string
}
