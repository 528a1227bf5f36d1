import packageJson from '../../package.json' with { type: 'json' }
import { isActionError } from '../domain/errors.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from './command.js'
import { commands } from './commands/index.js'

export const PROGRAM = 'lambda-image-deploy'
/** package.json's version, bundled into dist/cli at build time. */
export const VERSION: string = packageJson.version

export function programHelp(): string {
  const width = Math.max(...commands.map(command => command.name.length))
  const list = commands
    .map(command => `  ${command.name.padEnd(width)}  ${command.summary}`)
    .join('\n')
  return `Usage: ${PROGRAM} <command> [options]

Commands:
${list}

Options:
  -h, --help     Show this help; "${PROGRAM} <command> --help" shows a command's help.
  -V, --version  Print the version.

Exit codes: 0 ok, 1 findings or failure, 2 usage error.
`
}

/** Runs one command line and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout(programHelp())
    return EXIT_OK
  }
  if (name === '-V' || name === '--version' || name === 'version') {
    io.stdout(`${PROGRAM} ${VERSION}\n`)
    return EXIT_OK
  }
  if (name === undefined) {
    io.stderr(programHelp())
    return EXIT_USAGE
  }
  const command = commands.find(candidate => candidate.name === name)
  if (command === undefined) {
    io.stderr(`${PROGRAM}: unknown command "${name}"\n\n${programHelp()}`)
    return EXIT_USAGE
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `${PROGRAM} ${command.name}: ${error.message}\nSee "${PROGRAM} ${command.name} --help".\n`
      )
      return EXIT_USAGE
    }
    if (isActionError(error)) {
      io.stderr(`${PROGRAM} ${command.name}: ${error.reason} ${error.fix} [${error.id}]\n`)
      return EXIT_FAILURE
    }
    io.stderr(
      `${PROGRAM} ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`
    )
    return EXIT_FAILURE
  }
}
