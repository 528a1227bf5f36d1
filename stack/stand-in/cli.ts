import { rmSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { startStandIn } from './server.js'
import { topology } from './topology.js'

/**
 * Runs the AWS stand-in on its own: `tsx stack/stand-in/cli.ts [--port N] [--host H]
 * [--state-dir DIR] [--update-delay-ms N] [--pid-file FILE]`. Prints the URL; stops on SIGTERM
 * or SIGINT and removes the pid file.
 */

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'state-dir': { type: 'string' },
    'update-delay-ms': { type: 'string' },
    'pid-file': { type: 'string' }
  }
})

const standIn = await startStandIn({
  host: values.host ?? topology.standIn.host,
  port: values.port === undefined ? topology.standIn.port : Number(values.port),
  stateDir: values['state-dir'],
  updateDelayMs:
    values['update-delay-ms'] === undefined ? undefined : Number(values['update-delay-ms'])
})
const pidFile = values['pid-file']
if (pidFile) writeFileSync(pidFile, `${process.pid}\n`)
console.log(`AWS stand-in (ECR, Lambda, STS) listening at ${standIn.url}`)

async function stop(signal: string): Promise<void> {
  console.log(`stand-in: ${signal}, shutting down`)
  await standIn.close()
  if (pidFile) rmSync(pidFile, { force: true })
  process.exit(0)
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void stop(signal))
}
