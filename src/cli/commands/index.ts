import type { CliCommand } from '../command.js'
import { baseImageCommand } from './base-image.js'
import { checkCommand } from './check.js'
import { deployCommand } from './deploy.js'
import { groupFunctionsCommand } from './group-functions.js'

/**
 * Every subcommand, in the order --help lists them. A new command is one file in this folder
 * exporting a CliCommand, plus one entry here.
 */
export const commands: readonly CliCommand[] = [
  baseImageCommand,
  checkCommand,
  deployCommand,
  groupFunctionsCommand
]
