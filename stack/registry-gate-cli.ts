import { writeFileSync } from 'node:fs'
import { startRegistryGate } from './registry-gate.js'
import topology from './topology.json' with { type: 'json' }

/**
 * Runs the registry gate (registry-gate.ts) for every ECR registry of topology.json: on the
 * registry's own address and port 443, in front of the registry on registryGate.backendPort.
 * Started in the background by stack/setup.sh (ensure_registry_gates).
 *   node --import tsx stack/registry-gate-cli.ts [--pid-file FILE]
 */

const pidFlag = process.argv.indexOf('--pid-file')
const pidFile = pidFlag === -1 ? undefined : process.argv[pidFlag + 1]
const stateDir = process.env.LAMBDA_STACK_STATE_DIR ?? topology.stateDir

const gates = await Promise.all(
  topology.ecrRegistries.map(registry =>
    startRegistryGate({
      listen: { ip: registry.ip, port: 443 },
      upstream: { host: registry.host, ip: registry.ip, port: topology.registryGate.backendPort },
      stateDir
    })
  )
)
if (pidFile) writeFileSync(pidFile, `${process.pid}\n`)
console.log(
  `registry gate: ${topology.ecrRegistries.map(registry => registry.host).join(', ')} → port ${topology.registryGate.backendPort}`
)
const stop = () => {
  void Promise.all(gates.map(gate => gate.close())).then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
