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
