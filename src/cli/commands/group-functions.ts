import { createAwsServices } from '../../adapters/aws-clients.js'
import type { FunctionGroup } from '../../domain/function-groups.js'
import { groupFleet } from '../../steps/group-functions.js'
import { EXIT_OK, parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js'

const HELP = `Usage: lambda-image-deploy group-functions <FUNCTIONS> [options]

Groups Lambda functions by the image they run: calls GetFunction for each and prints, as one
line of JSON, {"groups":[{"image","architecture","functions"}]}, one group per image digest
(Code.ResolvedImageUri). The reusable refresh workflow runs the action once per group, so
functions that share an image share one build. Unlike the other commands this one calls AWS,
with the credentials and endpoints of the SDK's usual settings; it needs lambda:GetFunction.

FUNCTIONS is one argument: names or ARNs, one per line or comma-separated.

Options:
  --region REGION  The region of functions given by name (default: AWS_REGION, then
                   AWS_DEFAULT_REGION). ARNs carry their own.
  -h, --help       Show this help.

Exit codes: 0 printed, 1 a function is missing, unreadable or runs no image, 2 usage error.
`

export const groupFunctionsCommand: CliCommand = {
  name: 'group-functions',
  summary: 'Group Lambda functions by the image they run (calls GetFunction), as JSON.',
  help: HELP,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseCommandArgs(
      args,
      { region: { type: 'string' } },
      {
        missing: 'give the functions, one per line or comma-separated, as one argument',
        tooMany: given =>
          `give the functions as one argument (quote it, or separate them with commas), not ${given.length}`
      }
    )
    if (parsed === 'help') {
      io.stdout(HELP)
      return EXIT_OK
    }
    const { values, positional } = parsed
    if (values.region === '') throw new UsageError('--region needs a region, e.g. eu-west-1')
    const region = values.region ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || undefined)
    const groups = await groupFleet(positional, region, createAwsServices(io.env))
    // One line, so that a workflow step can write it to GITHUB_OUTPUT as name=value.
    io.stdout(JSON.stringify(groupsJson(groups)) + '\n')
    return EXIT_OK
  }
}

/** The documented output (docs/CLI.md). */
export function groupsJson(groups: readonly FunctionGroup[]): Record<string, unknown> {
  return {
    groups: groups.map(group => ({
      image: group.image,
      architecture: group.architecture,
      functions: [...group.functions]
    }))
  }
}
